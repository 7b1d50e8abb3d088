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
