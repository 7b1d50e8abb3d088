/**
 * Grid spacing (ulp) of the float types at a given magnitude, and zigzag integer mapping: small helpers the
 * lossy codecs use to budget rounding error and to turn signed codes into small unsigned symbols.
 */

/** Float types the codecs decode into. */
export type FloatDType = 'F32' | 'F16' | 'BF16';

const MANTISSA_BITS: Record<FloatDType, number> = { F32: 23, F16: 10, BF16: 7 };
const MIN_EXPONENT: Record<FloatDType, number> = { F32: -126, F16: -14, BF16: -126 };

/** Spacing of `dtype` values at magnitude `m` (the spacing just above |m|; subnormal spacing near 0). */
export function ulpOf(dtype: FloatDType, m: number): number {
  const a = Math.abs(m);
  const e = a > 0 ? Math.max(Math.floor(Math.log2(a)), MIN_EXPONENT[dtype]) : MIN_EXPONENT[dtype];
  // log2 may be off by one near powers of two; overestimating the spacing only tightens the budget.
  return 2 ** (e + 1 - MANTISSA_BITS[dtype]);
}

/** Maps ..., -2, -1, 0, 1, 2, ... to 3, 1, 0, 2, 4 (exact for |v| < 2^52). */
export function zigzag(v: number): number {
  return v >= 0 ? 2 * v : -2 * v - 1;
}

/** Inverse of zigzag. */
export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}
