/**
 * Baseline "byte-grouped zstd", the ZipNN method (Hershcovitch et al., 2024): float tensors (F32, F16, BF16)
 * are split into byte planes and each plane is zstd -3 compressed; every other tensor and the non-tensor bytes
 * are zstd -3 compressed as they are. Each model is compressed on its own (ZipNN works per file, with no
 * sharing across models).
 *
 * Grouping: ZipNN's tool runs over whole files in large chunks; per tensor is what the method describes. Both
 * are measured and, by default, each model keeps the smaller, so the baseline is the strongest form of the
 * method (on the fixtures neither wins everywhere: per-tensor frames get their own entropy tables, per-dtype
 * streams avoid a frame per 32-float bias and give the compressor longer history).
 *  - `tensor`: every float tensor's planes are separate frames; every other tensor is its own frame.
 *  - `dtype`: the float tensors of one dtype are concatenated before the split (one frame per plane per
 *    dtype); all other tensors form one frame.
 * In both the model's non-tensor bytes are one more frame.
 */
import type { DType } from '../../src/formats/dtype.js';
import { splitBytePlanes } from './byte-planes.js';
import { timed, type BaselineResult, type LoadedModel, type LoadedSet } from './loaded-set.js';
import { zstdSize } from './zstd-files-baseline.js';

/** Float dtypes that are byte-grouped, with their element width. */
export const GROUPED_DTYPES: Partial<Record<DType, number>> = { F32: 4, F16: 2, BF16: 2 };

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.length)));
}

/** How tensors are grouped into zstd frames; `best` keeps the smaller of the two per model. */
export type ByteGrouping = 'tensor' | 'dtype' | 'best';

function planesSize(bytes: Uint8Array, width: number): number {
  return splitBytePlanes(bytes, width).reduce((n, plane) => n + zstdSize(plane), 0);
}

function perTensorSize(model: LoadedModel): number {
  let n = 0;
  for (const t of model.tensors) {
    const width = GROUPED_DTYPES[t.dtype];
    if (t.bytes.length > 0) n += width === undefined ? zstdSize(t.bytes) : planesSize(t.bytes, width);
  }
  return n;
}

function perDtypeSize(model: LoadedModel): number {
  const floats = new Map<DType, Uint8Array[]>();
  const others: Uint8Array[] = [];
  for (const t of model.tensors) {
    if (GROUPED_DTYPES[t.dtype] === undefined) others.push(t.bytes);
    else if (floats.has(t.dtype)) floats.get(t.dtype)!.push(t.bytes);
    else floats.set(t.dtype, [t.bytes]);
  }
  let n = 0;
  for (const [dtype, parts] of floats) n += planesSize(concat(parts), GROUPED_DTYPES[dtype]!);
  if (others.length > 0) n += zstdSize(concat(others));
  return n;
}

/** Compressed size of one model under the ZipNN method (default: the better grouping for this model). */
export function byteGroupedModelSize(model: LoadedModel, grouping: ByteGrouping = 'best'): number {
  const tensors =
    grouping === 'tensor' ? perTensorSize(model) : grouping === 'dtype' ? perDtypeSize(model) : Math.min(perTensorSize(model), perDtypeSize(model));
  return tensors + (model.nonTensor.length > 0 ? zstdSize(model.nonTensor) : 0);
}

/** Sum over the models of the set of their byte-grouped zstd sizes. `best` times both groupings. */
export function byteGroupedZstdBaseline(set: LoadedSet, grouping: ByteGrouping = 'best'): BaselineResult {
  const { value, seconds } = timed(() => set.models.reduce((n, m) => n + byteGroupedModelSize(m, grouping), 0));
  return { bytes: value, seconds };
}
