/**
 * A reusable work buffer. On the dev VM a fresh 16 MiB typed array costs ~60 ms to touch (page faults), four
 * times what decoding its bytes costs; the codecs' intermediate buffers (byte planes, XORed bytes, zstd
 * output, sparse parts) are therefore kept per thread and reused. One owner per instance: a caller must be
 * done with the view before the next `get` on the same instance. Buffers over KEEP_MAX_BYTES are not kept.
 */
const KEEP_MAX_BYTES = 64 * 1024 * 1024;

export class ScratchBuffer {
  private buf = new Uint8Array(0);

  /** A view of `n` bytes (contents unspecified). */
  get(n: number): Uint8Array {
    if (n <= this.buf.length) return this.buf.subarray(0, n);
    const b = new Uint8Array(n);
    if (n <= KEEP_MAX_BYTES) this.buf = b;
    return b;
  }
}

/**
 * Memory for coded results that live only while one call runs: each plane a lossless body is assembled from
 * (coded by zstd, rANS or the sparse coder) is copied into the body before `codePlanes` returns, and so is each
 * stream of a group-delta body. Inside `run`, `fill`
 * cuts results from one region kept by the thread and used again by the next run; outside, each result is
 * fresh memory the caller owns, as coders' results always were. Fresh, they were most of a put's page faults:
 * a worker's garbage results (collected rarely) held ~47 MiB of its memory during a 1 GB lossless put, each
 * page faulted in once at ~12 us on the dev VM (66k faults in all, against zstd -3's 12k).
 *
 * The rule for a caller of `run`: nothing `fill` gave out during it is used after it returns.
 */
export class ScratchArena {
  private region = new Uint8Array(0);
  private at = 0;
  private depth = 0;
  /** Where results are coded outside a run, before their copy into fresh memory. */
  private readonly scratch = new ScratchBuffer();

  /** f(), with results cut from the kept region; the region is free again once the outermost run returns. */
  run<T>(f: () => T): T {
    this.depth++;
    try {
      return f();
    } finally {
      if (--this.depth === 0) this.at = 0;
    }
  }

  /**
   * A result of at most `maxBytes`: `write` fills the view it is given and returns how many bytes it wrote
   * (it must not call `fill` itself). Inside a run the result is a view of the region; outside, a copy in
   * fresh memory (a Buffer).
   */
  fill(maxBytes: number, write: (into: Uint8Array) => number): Uint8Array {
    if (this.depth === 0 || maxBytes > KEEP_MAX_BYTES) {
      const into = this.scratch.get(maxBytes);
      const n = write(into);
      const out = Buffer.allocUnsafe(n); // not zeroed first: every byte is copied in
      out.set(into.subarray(0, n));
      return out;
    }
    if (this.at + maxBytes > this.region.length) {
      // A larger region; results already cut keep the old one alive until they are dropped.
      this.region = new Uint8Array(Math.min(KEEP_MAX_BYTES, Math.max(2 * this.region.length, maxBytes, 1 << 20)));
      this.at = 0;
    }
    const start = this.at;
    const n = write(this.region.subarray(start, start + maxBytes));
    this.at = start + ((n + 15) & ~15);
    return this.region.subarray(start, start + n);
  }
}

/** The thread's arena for coded streams (lossless.ts and group-delta.ts run each body's coding in it). */
export const CODED_SCRATCH = new ScratchArena();
