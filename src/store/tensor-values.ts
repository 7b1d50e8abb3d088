/** Float tensors as values: little-endian F32/F16/BF16 bytes to Float32Array and back. */
import { fromDTypeBytes, toDTypeBytes } from '../codecs/half-float.js';
import type { FloatDType } from '../codecs/float-ulp.js';

export const FLOAT_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

export function isFloatDType(dtype: string): dtype is FloatDType {
  return FLOAT_DTYPES.includes(dtype);
}

/** The values of a float tensor's bytes (copied; F16/BF16 widened exactly). */
export function valuesOf(bytes: Uint8Array, dtype: FloatDType): Float32Array {
  return fromDTypeBytes(bytes, dtype);
}

/** Bytes of `values` in `dtype` (values must already be representable in it for an exact result). */
export function bytesOf(values: Float32Array, dtype: FloatDType): Uint8Array {
  return toDTypeBytes(values, dtype);
}

/** Largest |x - y| over two equally long arrays (NaN-safe: NaN against NaN counts 0). */
export function maxAbsError(x: Float32Array, y: Float32Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    if (a === b || (a !== a && b !== b)) continue;
    const d = Math.abs(a - b);
    if (d !== d) return Infinity; // NaN on one side only: no bound holds (and NaN must not be overwritten below)
    if (d > m) m = d;
  }
  return m;
}
