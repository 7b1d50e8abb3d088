/**
 * Byte-plane split and merge, the transform behind ZipNN: the k-th bytes of every element go together, so the
 * exponent bytes of floats (few distinct values) form one highly compressible stream and the noisy mantissa
 * bytes another, instead of being interleaved. Pure and lossless: `mergeBytePlanes(splitBytePlanes(x))` is x.
 */
import { invalidArgument } from '../../src/errors.js';

function checkWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > 8) throw invalidArgument(`byte-plane width must be an integer in 1..8, got ${width}`);
}

/**
 * Splits `bytes` (elements of `width` bytes each) into `width` planes; plane k holds byte k of every element.
 * INVALID_ARGUMENT when the width is not 1..8 or the length is not a multiple of it. The planes are new arrays.
 */
export function splitBytePlanes(bytes: Uint8Array, width: number): Uint8Array[] {
  checkWidth(width);
  if (bytes.length % width !== 0) throw invalidArgument(`${bytes.length} bytes are not a whole number of ${width}-byte elements`);
  const n = bytes.length / width;
  const planes: Uint8Array[] = [];
  for (let k = 0; k < width; k++) {
    const plane = new Uint8Array(n);
    for (let i = 0, j = k; i < n; i++, j += width) plane[i] = bytes[j]!;
    planes.push(plane);
  }
  return planes;
}

/** The inverse of `splitBytePlanes`. INVALID_ARGUMENT when there are no planes or their lengths differ. */
export function mergeBytePlanes(planes: readonly Uint8Array[]): Uint8Array {
  const width = planes.length;
  checkWidth(width);
  const n = planes[0]!.length;
  if (planes.some((p) => p.length !== n)) throw invalidArgument(`byte planes differ in length: ${planes.map((p) => p.length).join(', ')}`);
  const out = new Uint8Array(n * width);
  for (let k = 0; k < width; k++) {
    const plane = planes[k]!;
    for (let i = 0, j = k; i < n; i++, j += width) out[j] = plane[i]!;
  }
  return out;
}
