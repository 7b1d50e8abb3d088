/**
 * Buffers chunk records are read into, moved to a decode worker with the job and handed back with its result,
 * then read into again. Fresh per record, they were left to the workers' collector (which runs every 128 MiB
 * of work: up to ~80 MiB of spent records per worker).
 */
export class RecordBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** `keep` buffers at most; records under `step` bytes are not kept, larger ones get buffers in `step`s. */
  constructor(private readonly keep: number, private readonly step: number) {}

  /** Memory for a record of n bytes: the smallest kept buffer that holds it, else a new one (in `step`s). */
  readonly alloc = (n: number): Uint8Array => {
    if (n < this.step) return new Uint8Array(n);
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i]!.byteLength >= n && (best < 0 || this.free[i]!.byteLength < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) return new Uint8Array(this.free.splice(best, 1)[0]!);
    return new Uint8Array(Math.ceil(n / this.step) * this.step);
  };

  /** Keeps `b` (given up by the caller; detached or small ones are dropped). */
  giveBack(b: ArrayBufferLike): void {
    if (b instanceof ArrayBuffer && b.byteLength >= this.step && this.free.length < this.keep && !this.free.includes(b)) this.free.push(b);
  }
}
