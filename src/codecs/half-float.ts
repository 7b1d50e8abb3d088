/**
 * IEEE binary16 (fp16) and bfloat16 conversions, round-to-nearest-even, NaN and infinities kept.
 * The lossy codecs use them to produce a tensor in its source dtype and to check the error bound on the
 * values a reader will really see (rounding to 16 bits adds error of its own).
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds a number to the nearest fp16 and returns its 16-bit pattern. */
export function toF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into the exponent, which is correct
  return sign | h;
}

/** Every fp16 value by bit pattern (256 KiB, built on first use): decoding is a table read, not a pow. */
let F16_VALUES: Float32Array | undefined;

function f16Table(): Float32Array {
  if (!F16_VALUES) {
    F16_VALUES = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) F16_VALUES[h] = computeF16(h);
  }
  return F16_VALUES;
}

/** Value of an fp16 bit pattern. */
export function fromF16Bits(h: number): number {
  return (F16_VALUES ?? f16Table())[h & 0xffff]!;
}

function computeF16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Rounds a number to the nearest bfloat16 and returns its 16-bit pattern. */
export function toBf16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** Value of a bfloat16 bit pattern. */
export function fromBf16Bits(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0]!;
}

/** The 16-bit float types the codecs can produce. */
export type HalfDType = 'F16' | 'BF16';

/** Rounds `v` to `dtype` and returns the value (a number exactly representable in that type). */
export function roundTo(dtype: 'F32' | HalfDType, v: number): number {
  if (dtype === 'F32') return Math.fround(v);
  return dtype === 'F16' ? fromF16Bits(toF16Bits(v)) : fromBf16Bits(toBf16Bits(v));
}

/** The values of little-endian F32/F16/BF16 bytes (copied; F16/BF16 widened exactly): toDTypeBytes's inverse. */
export function fromDTypeBytes(bytes: Uint8Array, dtype: 'F32' | HalfDType): Float32Array {
  if (dtype === 'F32') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const n = bytes.length >> 1;
  const out = new Float32Array(n);
  const conv = dtype === 'F16' ? fromF16Bits : fromBf16Bits;
  for (let i = 0; i < n; i++) out[i] = conv(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
  return out;
}

/**
 * Little-endian bytes of `values` in `dtype` (F32, F16 or BF16), e.g. to give a decoded tensor back in its
 * source dtype. Values already representable in `dtype` (as decoders produce) convert exactly.
 */
export function toDTypeBytes(values: Float32Array, dtype: 'F32' | HalfDType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const out = new Uint16Array(values.length);
  const conv = dtype === 'F16' ? toF16Bits : toBf16Bits;
  for (let i = 0; i < values.length; i++) out[i] = conv(values[i]!);
  return new Uint8Array(out.buffer);
}
