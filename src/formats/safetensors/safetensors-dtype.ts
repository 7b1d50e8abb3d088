/**
 * The element types of the safetensors spec (as of safetensors 0.6) and how each maps onto the store's `DType`.
 *
 * Most spec types are store dtypes of the same name. The newer ones the store has no element type for (the
 * sub-byte MX floats F4, F6_E2M3, F6_E3M2, the scale type F8_E8M0 and the complex C64) are accepted and handed
 * to the store as raw bytes (`U8`, shape `[byteLength]`), as `dtype.ts` prescribes for non-element types; the
 * real type stays in the verbatim header kept in the architecture, so nothing is lost on the way back.
 */
import { invalidArgument } from '../../errors.js';
import type { DType } from '../dtype.js';
import { isDType } from '../dtype.js';

/** Bits per element of every dtype the safetensors spec lists. */
export const SAFETENSORS_DTYPE_BITS: Readonly<Record<string, number>> = Object.freeze({
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
});

/** Every dtype name the spec lists, in the spec's order. */
export const SAFETENSORS_DTYPES: readonly string[] = Object.freeze(Object.keys(SAFETENSORS_DTYPE_BITS));

export function isSafetensorsDType(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(SAFETENSORS_DTYPE_BITS, name);
}

/**
 * Bytes taken by `elements` values of `dtype`. Throws INVALID_ARGUMENT when the dtype is unknown, when the
 * count of a sub-byte type does not fill whole bytes (the spec forbids that), or when the size overflows.
 */
export function safetensorsByteLength(dtype: string, elements: number): number {
  if (!isSafetensorsDType(dtype)) throw invalidArgument(`unknown dtype '${dtype}'`);
  const bits = SAFETENSORS_DTYPE_BITS[dtype];
  const total = bits % 8 === 0 ? elements * (bits / 8) : elements * bits;
  if (!Number.isSafeInteger(total)) throw invalidArgument(`${elements} elements of ${dtype} are too large`);
  if (bits % 8 === 0) return total;
  if (total % 8 !== 0) {
    throw invalidArgument(`${elements} elements of ${dtype} (${bits} bits each) do not fill a whole number of bytes`);
  }
  return total / 8;
}

/** The store dtype and shape a spec tensor is handed over as (see the module comment for the extra types). */
export function storeView(
  dtype: string,
  shape: readonly number[],
  byteLength: number,
): { dtype: DType; shape: number[] } {
  if (isDType(dtype)) return { dtype, shape: [...shape] };
  return { dtype: 'U8', shape: [byteLength] };
}
