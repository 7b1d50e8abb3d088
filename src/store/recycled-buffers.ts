/**
 * Shared memory that chunked puts and reads recycle: chunks read from a model file, chunk records read from the
 * store, lossless bodies coded by a worker. Each is posted to a worker with its job (shared, not moved) and
 * given back once the job settles, then used again: fresh per chunk, an 8 MiB buffer costs zeroing and page
 * faults (~6% of a lossless put's CPU), and buffers moved back and forth between threads counted on the main
 * thread as new external memory, for which V8 ran a full collection about every 64 MB (52 in a 1 GB
 * fine-tune's put, ~1 CPU s).
 */
export class RecycledBuffers {
  private readonly free: ArrayBufferLike[] = [];
  /** The largest buffer made so far: new ones are made at least as large, so any kept buffer serves any request. */
  private largest = 0;

  /** `keep` buffers at most; requests under `step` bytes get ordinary memory, larger ones buffers in `step`s. */
  constructor(private readonly keep: number, private readonly step: number) {}

  /**
   * Memory of at least n bytes (the whole of a buffer): the smallest kept buffer that holds it, else a new one.
   * Made in sizes of their own (tail chunks of 4-6 MiB), buffers were dropped for larger ones again and again, and
   * a worker's handle on a dropped shared buffer keeps its memory until that worker's collector runs (rarely: it
   * allocates little): peak RSS of a 4.27 GB fine-tune's put grew from 330 to 400 MiB as it went.
   */
  readonly alloc = (n: number): Uint8Array => {
    if (n < this.step) return new Uint8Array(n);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i]!.byteLength >= n && (best < 0 || this.free[i]!.byteLength < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return new Uint8Array(this.free.splice(best, 1)[0]!);
    this.largest = Math.max(this.largest, Math.ceil(n / this.step) * this.step);
    return new Uint8Array(new SharedArrayBuffer(this.largest));
  };

  /** Memory of exactly n bytes: a view at the start of `alloc(n)`. */
  take(n: number): Uint8Array {
    return this.alloc(n).subarray(0, n);
  }

  /**
   * Keeps each buffer, or the buffer of each view at its start, given up by the caller; ignores the others,
   * undefined ones, those moved away and small ones. When `keep` are kept, a larger buffer takes the place of
   * the smallest.
   */
  giveBack(...given: Array<ArrayBufferLike | Uint8Array | undefined>): void {
    for (const g of given) {
      const b = ArrayBuffer.isView(g) ? (g.byteOffset === 0 ? g.buffer : undefined) : g;
      if (!b || b.byteLength < this.step || this.free.includes(b)) continue;
      if (this.free.length < this.keep) this.free.push(b);
      else {
        const smallest = this.free.reduce((s, f, i) => (f.byteLength < this.free[s]!.byteLength ? i : s), 0);
        if (this.free[smallest]!.byteLength < b.byteLength) this.free[smallest] = b;
      }
    }
  }
}
