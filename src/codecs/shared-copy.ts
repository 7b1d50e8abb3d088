/**
 * Copies that touch SharedArrayBuffer memory, at memcpy speed. V8 copies into or out of shared memory with
 * relaxed atomic loads and stores: a word at a time when source and target sit at the same offset mod 8, but a
 * byte at a time when they do not. Measured here, 4 MiB misaligned took 1.2-1.4 ms against 0.1-0.2 aligned;
 * a put and a get make such copies on every chunk (a raw plane at an odd offset of a shared record read into
 * the plane arena; a plane placed after its varint in a shared body). A large misaligned copy therefore goes
 * through ordinary memory placed at the shared side's alignment: two fast copies instead of one slow one.
 */
const BOUNCE_FROM_BYTES = 64 * 1024;
const WORD = 8;
/** Larger copies go through in slices of this many bytes (a multiple of WORD: each slice keeps the alignment). */
const SLICE_BYTES = 8 * 1024 * 1024;

let bounceMemory = new ArrayBuffer(0);
let otherMemory = new ArrayBuffer(0);

/** A view of `n` bytes of ordinary memory at an offset congruent to `like` mod WORD (the second one: `other`). */
function bounce(n: number, like: number, other = false): Uint8Array {
  let m = other ? otherMemory : bounceMemory;
  if (m.byteLength < n + WORD) {
    m = new ArrayBuffer(n + WORD);
    if (other) otherMemory = m;
    else bounceMemory = m;
  }
  return new Uint8Array(m, like % WORD, n);
}

const isShared = (a: Uint8Array): boolean => typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;

/** target.set(source, at), the same bytes, fast whatever memory either lives in. */
export function copyBytes(target: Uint8Array, source: Uint8Array, at = 0): void {
  const n = source.length;
  const to = target.byteOffset + at;
  const fromShared = isShared(source);
  const toShared = isShared(target);
  if (n < BOUNCE_FROM_BYTES || (!fromShared && !toShared) || (to - source.byteOffset) % WORD === 0) {
    target.set(source, at);
    return;
  }
  if (at < 0 || at + n > target.length) throw new RangeError(`copying ${n} bytes to offset ${at} of ${target.length}`);
  for (let done = 0; done < n; done += SLICE_BYTES) {
    const src = source.subarray(done, Math.min(n, done + SLICE_BYTES));
    const dst = target.subarray(at + done, at + done + src.length);
    if (fromShared && toShared) {
      // Shared to shared at different alignments: through two ordinary buffers, one aligned like each side.
      const a = bounce(src.length, src.byteOffset);
      const b = bounce(src.length, dst.byteOffset, true);
      a.set(src);
      b.set(a);
      dst.set(b);
    } else {
      const via = bounce(src.length, fromShared ? src.byteOffset : dst.byteOffset);
      via.set(src);
      dst.set(via);
    }
  }
}
