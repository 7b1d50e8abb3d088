/**
 * Appends records to one segment file through a page buffer: records gather in memory until PAGE_BYTES are
 * waiting, then go to the file in one write. `length` counts buffered bytes too, so offsets are known at once.
 *
 * Calls may overlap (a put appends chunk records in the background while it reads others back): writes to the
 * file are queued one after another, offsets are handed out in call order, and a byte counts as on file
 * (`isBuffered` false) only once its write has completed, so a reader never reads bytes still on their way.
 * A failed write fails every later call; the batch is then aborted by the engine.
 */
import type { EnvFile } from '../env/env.js';

export class SegmentWriter {
  private page: Uint8Array[] = [];
  private pageBytes = 0;
  /** Bytes handed to the file (their writes queued, maybe not yet done). */
  private queued: number;
  /** Bytes whose writes have completed. */
  private written: number;
  /** The last queued write. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly segmentId: number,
    private readonly file: EnvFile,
    startLength: number,
    private readonly pageLimit: number,
  ) {
    this.queued = startLength;
    this.written = startLength;
  }

  get path(): string {
    return this.file.path;
  }

  /** Logical length: bytes handed to the file plus the page being filled. */
  get length(): number {
    return this.queued + this.pageBytes;
  }

  /** True when bytes at `offset` are not yet readable from the file (buffered, or their write still running). */
  isBuffered(offset: number): boolean {
    return offset >= this.written;
  }

  /** Queues `bytes`; returns the offset they will have in the file. */
  async add(bytes: Uint8Array): Promise<number> {
    const offset = this.length;
    if (bytes.length >= this.pageLimit) {
      this.cutPage();
      this.enqueue(bytes);
    } else {
      this.page.push(bytes);
      this.pageBytes += bytes.length;
      if (this.pageBytes >= this.pageLimit) this.cutPage();
    }
    await this.tail;
    return offset;
  }

  /** Every byte added so far is on file (not yet durable: see `sync`). */
  async flush(): Promise<void> {
    this.cutPage();
    await this.tail;
  }

  async sync(): Promise<void> {
    await this.flush();
    await this.file.sync();
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined); // a failed write was reported to its caller
    await this.file.close();
  }

  private cutPage(): void {
    if (this.pageBytes === 0) return;
    const page = this.page.length === 1 ? this.page[0]! : Buffer.concat(this.page, this.pageBytes);
    this.page = [];
    this.pageBytes = 0;
    this.enqueue(page);
  }

  private enqueue(data: Uint8Array): void {
    this.queued += data.length;
    this.tail = this.tail.then(async () => {
      await this.file.append(data);
      this.written += data.length;
    });
  }
}
