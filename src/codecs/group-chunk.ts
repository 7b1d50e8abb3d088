/**
 * One chunk of a float tensor in the default mode: group-quantized within `tol` (group-delta.ts) against its base
 * chunk's values when there is one, then decoded again (the same kernels the reader uses) to measure the error
 * the reader will see and to take the SHA-256 of the bytes it will decode to. Pure and thread-agnostic: the
 * encode pool runs it on its workers, or inline, with identical results.
 */
import { createHash } from 'node:crypto';
import { RANS_CODER, ZSTD_PLANE_CODER } from './entropy-coder.js';
import { decodeGroupDelta, encodeGroupDelta } from './group-delta.js';
import type { FloatDType } from './float-ulp.js';
import { fromDTypeBytes, toDTypeBytes } from './half-float.js';

export interface GroupChunk {
  readonly body: Uint8Array;
  /** Largest |original - decoded| over the chunk's elements. */
  readonly maxError: number;
  /** SHA-256 of (digestPrefix byte || decoded bytes in `dtype`). */
  readonly digest: Uint8Array;
}

/**
 * A chunk coded alone has its streams entropy-coded with zstd's stage (8 MiB bf16 chunks: encode 1.7x faster
 * than rANS for 0.8% more bytes); a delta against a base chunk keeps rANS (its skewed codes came out 14% larger
 * with zstd on the bench:scale fine-tune), and so does `smallest` (`--effort max`).
 */
export function encodeGroupChunk(
  bytes: Uint8Array, base: Uint8Array | null, dtype: FloatDType, tol: number, digestPrefix: number, smallest = false,
): GroupChunk {
  const x = fromDTypeBytes(bytes, dtype);
  const b = base && fromDTypeBytes(base, dtype);
  const body = encodeGroupDelta(x, b, tol, { dtype, coder: smallest || b ? RANS_CODER : ZSTD_PLANE_CODER });
  const decoded = decodeGroupDelta(body, b).values;
  let maxError = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const d = decoded[i]!;
    if (a === d || (a !== a && d !== d)) continue; // equal (infinities too), or NaN for NaN
    const e = Math.abs(a - d);
    if (e !== e) {
      maxError = Infinity; // NaN on one side only: never within a bound
      break;
    }
    if (e > maxError) maxError = e;
  }
  const digest = new Uint8Array(createHash('sha256').update(Uint8Array.of(digestPrefix)).update(toDTypeBytes(decoded, dtype)).digest());
  return { body, maxError, digest };
}
