/**
 * Element types the store can hold, named as safetensors names them; every other format maps onto these.
 * Sub-byte and block-quantized types (GGUF's Q4_0, K-quants...) are not elements: formats keep them as raw
 * bytes with dtype `U8` and record their real type in the architecture.
 */
import { invalidArgument } from '../errors.js';

export const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
} as const;

export type DType = keyof typeof DTYPE_BYTES;

export const DTYPES = Object.keys(DTYPE_BYTES) as DType[];

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Bytes per element; throws INVALID_ARGUMENT naming the type when it is unknown. */
export function dtypeBytes(dtype: string): number {
  if (!isDType(dtype)) throw invalidArgument(`unknown dtype '${dtype}'`);
  return DTYPE_BYTES[dtype];
}

/** Number of elements of a shape ([] is a scalar: 1 element). Throws on negative or non-integer dims. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalidArgument(`bad dimension ${d} in shape [${shape.join(', ')}]`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw invalidArgument(`shape [${shape.join(', ')}] is too large`);
  return n;
}
