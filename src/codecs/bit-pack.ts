/**
 * Bit packing of unsigned codes of 1..32 bits each, little-endian bit order: code i occupies bits
 * [i*bits, (i+1)*bits) of the output, bit k of the stream being bit (k % 8) of byte floor(k / 8).
 * This is the paper's "plain bit packing" of delta codes; it has no header (callers record count and width).
 */
import { invalidArgument } from '../errors.js';

/** Bytes needed to pack `count` codes of `bits` bits. */
export function packedBytes(count: number, bits: number): number {
  checkBits(bits);
  return Math.ceil((count * bits) / 8);
}

function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 32) throw invalidArgument(`bits per code must be 1..32, got ${bits}`);
}

/**
 * Packs `codes` at `bits` bits each into a new byte array of `packedBytes(codes.length, bits)` bytes.
 * Throws INVALID_ARGUMENT when bits is outside 1..32 or a code does not fit in `bits` bits.
 */
export function packBits(codes: Uint32Array, bits: number): Uint8Array {
  checkBits(bits);
  const out = new Uint8Array(packedBytes(codes.length, bits));
  const limit = bits === 32 ? 0x1_0000_0000 : 2 ** bits;
  if (bits <= 24) return packSmall(codes, bits, limit, out);
  // A 64-bit accumulator in two halves would be faster; a double holds 53 bits exactly, which is
  // enough for up to 32 pending bits plus 7 leftover bits.
  let acc = 0;
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c >= limit) throw invalidArgument(`code ${c} at index ${i} does not fit in ${bits} bits`);
    acc += c * 2 ** accBits;
    accBits += bits;
    while (accBits >= 8) {
      out[o++] = acc % 256;
      acc = Math.floor(acc / 256);
      accBits -= 8;
    }
  }
  if (accBits > 0) out[o++] = acc;
  return out;
}

/** Fast path: for widths up to 24 bits the pending bits fit in a 32-bit integer. */
function packSmall(codes: Uint32Array, bits: number, limit: number, out: Uint8Array): Uint8Array {
  let acc = 0;
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c >= limit) throw invalidArgument(`code ${c} at index ${i} does not fit in ${bits} bits`);
    acc |= c << accBits;
    accBits += bits;
    while (accBits >= 8) {
      out[o++] = acc & 0xff;
      acc >>>= 8;
      accBits -= 8;
    }
  }
  if (accBits > 0) out[o++] = acc;
  return out;
}

/**
 * Unpacks `count` codes of `bits` bits from `bytes` (reads exactly `packedBytes(count, bits)` bytes from the
 * start). Throws INVALID_ARGUMENT when `bytes` is too short.
 */
export function unpackBits(bytes: Uint8Array, count: number, bits: number): Uint32Array {
  const need = packedBytes(count, bits);
  if (bytes.length < need) {
    throw invalidArgument(`packed codes need ${need} bytes for ${count} x ${bits} bits, got ${bytes.length}`);
  }
  const out = new Uint32Array(count);
  if (bits <= 24) return unpackSmall(bytes, out, bits);
  let acc = 0;
  let accBits = 0;
  let p = 0;
  const mod = 2 ** bits;
  for (let i = 0; i < count; i++) {
    while (accBits < bits) {
      acc += bytes[p++]! * 2 ** accBits;
      accBits += 8;
    }
    out[i] = acc % mod;
    acc = Math.floor(acc / mod);
    accBits -= bits;
  }
  return out;
}

/** Fast path: for widths up to 24 bits the pending bits fit in a 32-bit integer. */
function unpackSmall(bytes: Uint8Array, out: Uint32Array, bits: number): Uint32Array {
  const mask = (1 << bits) - 1;
  let acc = 0;
  let accBits = 0;
  let p = 0;
  for (let i = 0; i < out.length; i++) {
    while (accBits < bits) {
      acc |= bytes[p++]! << accBits;
      accBits += 8;
    }
    out[i] = acc & mask;
    acc >>>= bits;
    accBits -= bits;
  }
  return out;
}
