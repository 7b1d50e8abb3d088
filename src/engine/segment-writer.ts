/**
 * Appends records to one segment file through a page buffer: small records gather in memory until PAGE_BYTES
 * are waiting, then go to the file joined into one write; a large part (BY_REFERENCE_BYTES and more: chunk
 * bodies) is written as it is, never copied, with the page before it, and lent only until its `add` resolves.
 * `length` counts buffered bytes too, so offsets are known at once.
 *
 * Calls may overlap (a put appends chunk records in the background while it reads others back): writes to the
 * file are queued one after another, offsets are handed out in call order, and a byte counts as on file
 * (`isBuffered` false) only once its write has completed, so a reader never reads bytes still on their way.
 * A failed write fails every later call; the batch is then aborted by the engine.
 */
import type { EnvFile } from '../env/env.js';

/** A large batch is fsynced in the background every this many bytes. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;
/**
 * Parts this large are kept by reference until written. Copied into the page, the 1-4 MiB chunk records of a
 * fine-tune's put cost its reading thread ~0.8 s of copies and more of collection per GB (measured: profile of
 * a 1 GB put), while a base's larger records went straight to the file.
 */
export const BY_REFERENCE_BYTES = 64 * 1024;

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

  /**
   * Queues `bytes` (or its parts, in order); returns the offset they will have in the file. Parts under
   * BY_REFERENCE_BYTES are copied at once; larger ones are written as they are, before this resolves (the page
   * is cut at them): the caller must not change them until then, and may reuse their memory after.
   */
  async add(bytes: Uint8Array | readonly Uint8Array[]): Promise<number> {
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    const offset = this.length;
    let byReference = false;
    for (const p of parts) {
      if (p.length === 0) continue;
      byReference ||= p.length >= BY_REFERENCE_BYTES;
      this.page.push(p.length >= BY_REFERENCE_BYTES ? p : new Uint8Array(p));
      this.pageBytes += p.length;
    }
    if (byReference || this.pageBytes >= this.pageLimit) this.cutPage();
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

  /** Queues the page: each run of small parts as one write, each large part as a write of its own. */
  private cutPage(): void {
    let small: Uint8Array[] = [];
    const joinSmall = (): void => {
      if (small.length > 0) this.enqueue(small.length === 1 ? small[0]! : Buffer.concat(small));
      small = [];
    };
    for (const p of this.page) {
      if (p.length < BY_REFERENCE_BYTES) small.push(p);
      else {
        joinSmall();
        this.enqueue(p);
      }
    }
    joinSmall();
    this.page = [];
    this.pageBytes = 0;
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
