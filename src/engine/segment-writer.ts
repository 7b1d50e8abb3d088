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

/** A large batch is fsynced in the background every this many bytes. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

export class SegmentWriter {
  private page: Uint8Array[] = [];
  private pageBytes = 0;
  /** Bytes handed to the file (their writes queued, maybe not yet done). */
  private queued: number;
  /** Bytes whose writes have completed. */
  private written: number;
  /** Bytes queued since the last background fsync. */
  private unsynced = 0;
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

  /** Queues `bytes` (or its parts, in order); returns the offset they will have in the file. */
  async add(bytes: Uint8Array | readonly Uint8Array[]): Promise<number> {
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    const length = parts.reduce((n, p) => n + p.length, 0);
    const offset = this.length;
    if (length >= this.pageLimit) {
      // A large record goes to the file part by part, as it is: no copy joins a multi-megabyte body to its header.
      this.cutPage();
      for (const p of parts) this.enqueue(p);
    } else {
      // Copied now: a caller's buffer may change once `add` returns, and the page is written later.
      this.page.push(Buffer.concat(parts, length));
      this.pageBytes += length;
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
    this.unsynced += data.length;
    const syncNow = this.unsynced >= SYNC_EVERY_BYTES;
    if (syncNow) this.unsynced = 0;
    this.tail = this.tail.then(async () => {
      await this.file.append(data);
      this.written += data.length;
      // Written back as the batch goes, so the commit's fsync finds little left to do (it overlaps coding).
      if (syncNow) await this.file.sync();
    });
  }
}
