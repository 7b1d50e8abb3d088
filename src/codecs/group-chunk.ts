/**
 * One chunk of a float tensor in the default mode: group-quantized within `tol` (group-delta.ts) against its base
 * chunk's values when there is one. The encoder computes every element's decoded value with the decoder's own
 * arithmetic (encodeGroupDeltaDecoded), which gives the error the reader will see and the bytes whose SHA-256
 * the digest is, without decoding the body again. Pure and thread-agnostic: the encode pool runs it on its
 * workers, or inline, with identical results.
 */
import { RANS_PAIRS_CODER, ZSTD_PLANE_CODER } from './entropy-coder.js';
import { prefixedSha256 } from './prefixed-digest.js';
import { type Source, encodeGroupDeltaDecoded } from './group-delta.js';
import type { FloatDType } from './float-ulp.js';
import { fromDTypeBytes } from './half-float.js';

export interface GroupChunk {
  readonly body: Uint8Array;
  /** Largest |original - decoded| over the chunk's elements. */
  readonly maxError: number;
  /** SHA-256 of (digestPrefix byte || decoded bytes in `dtype`). */
  readonly digest: Uint8Array;
}

/**
 * A chunk coded alone has its streams entropy-coded with zstd's stage (8 MiB bf16 chunks: encode 1.7x faster
 * than rANS for 0.8% more bytes); a delta against a base chunk takes rANS (its skewed codes came out 14% larger
 * with zstd on the bench:scale fine-tune) over pairs of codes (as small, and twice as fast: see
 * RANS_PAIRS_CODER), and so does `smallest` (`--effort max`).
 */
export function encodeGroupChunk(
  bytes: Uint8Array, base: Uint8Array | null, dtype: FloatDType, tol: number, digestPrefix: number, smallest = false,
): GroupChunk {
  const x = source(bytes, dtype);
  const b = base && source(base, dtype);
  const r = encodeGroupDeltaDecoded(x, b, tol, { dtype, coder: smallest || b ? RANS_PAIRS_CODER : ZSTD_PLANE_CODER });
  const digest = new Uint8Array(prefixedSha256(digestPrefix, r.decoded));
  return { body: r.body, maxError: r.maxError, digest };
}

/**
 * What the encoder reads: F16/BF16 bytes as their 16-bit patterns (a view when aligned; the kernels widen
 * them), F32 bytes as float32 values.
 */
function source(bytes: Uint8Array, dtype: FloatDType): Source {
  if (dtype === 'F32') return fromDTypeBytes(bytes, dtype);
  const n = bytes.length >> 1;
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
  return new Uint16Array(bytes.slice(0, 2 * n).buffer);
}
