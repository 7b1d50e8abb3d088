/**
 * Appends records to one segment file through a page buffer: records gather in memory until PAGE_BYTES are
 * waiting, then go to the file in one write. `length` counts buffered bytes too, so offsets are known at once.
 */
import type { EnvFile } from '../env/env.js';

export class SegmentWriter {
  private page: Uint8Array[] = [];
  private pageBytes = 0;
  /** Bytes already handed to the file. */
  private flushed: number;

  constructor(
    readonly segmentId: number,
    private readonly file: EnvFile,
    startLength: number,
    private readonly pageLimit: number,
  ) {
    this.flushed = startLength;
  }

  get path(): string {
    return this.file.path;
  }

  /** Logical length: flushed bytes plus the page being filled. */
  get length(): number {
    return this.flushed + this.pageBytes;
  }

  /** True when bytes at `offset` are still only in the page buffer. */
  isBuffered(offset: number): boolean {
    return offset >= this.flushed;
  }

  /** Queues `bytes`; returns the offset they will have in the file. */
  async add(bytes: Uint8Array): Promise<number> {
    const offset = this.length;
    if (bytes.length >= this.pageLimit) {
      await this.flush();
      await this.file.append(bytes);
      this.flushed += bytes.length;
      return offset;
    }
    this.page.push(bytes);
    this.pageBytes += bytes.length;
    if (this.pageBytes >= this.pageLimit) await this.flush();
    return offset;
  }

  async flush(): Promise<void> {
    if (this.pageBytes === 0) return;
    const page = this.page.length === 1 ? this.page[0]! : Buffer.concat(this.page, this.pageBytes);
    this.page = [];
    const n = this.pageBytes;
    this.pageBytes = 0;
    await this.file.append(page);
    this.flushed += n;
  }

  async sync(): Promise<void> {
    await this.flush();
    await this.file.sync();
  }

  /** Drops buffered bytes and cuts the file back to `length` (abort of an uncommitted batch). */
  async rollback(length: number): Promise<void> {
    this.page = [];
    this.pageBytes = 0;
    await this.file.truncate(length);
    this.flushed = length;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
