/**
 * The ggml tensor types a GGUF file may name, with their block geometry, and how each maps onto the store.
 *
 * A ggml type stores `blockSize` elements in `typeSize` bytes. Plain element types (F32, F16, BF16, F64, I8..I64)
 * become store tensors of the same dtype; every block-quantized type (Q4_0, K-quants, IQ*, TQ*, MXFP4...) is kept
 * as its raw blocks (`U8`), so a re-quantized file dedups exactly and nothing is decoded by the format.
 * Sizes follow ggml's `type_traits` (ggml.c); ids 4, 5, 31..33 and 36..38 were retired upstream and are unknown.
 */
import { invalidArgument } from '../../errors.js';
import type { DType } from '../dtype.js';

/** One ggml type: its id in the file, name, elements per block, bytes per block and store dtype if elementwise. */
export interface GgmlType {
  readonly id: number;
  readonly name: string;
  readonly blockSize: number;
  readonly typeSize: number;
  /** The store dtype of an element type; undefined for block-quantized types (kept as U8 blocks). */
  readonly dtype?: DType;
}

const QK_K = 256;

const TABLE: readonly GgmlType[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4, dtype: 'F32' },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2, dtype: 'F16' },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 2 + 16 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 2 + 2 + 16 },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 2 + 4 + 16 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 2 + 2 + 4 + 16 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 2 + 32 },
  // ggml's block_q8_1 is two halves and 32 int8 (36 bytes); gguf-py's table says 40, ggml is what loads files.
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 2 + 2 + 32 },
  { id: 10, name: 'Q2_K', blockSize: QK_K, typeSize: 2 + 2 + QK_K / 16 + QK_K / 4 },
  { id: 11, name: 'Q3_K', blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + 12 },
  { id: 12, name: 'Q4_K', blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + 12 },
  { id: 13, name: 'Q5_K', blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + QK_K / 8 + 12 },
  { id: 14, name: 'Q6_K', blockSize: QK_K, typeSize: 2 + QK_K / 2 + QK_K / 4 + QK_K / 16 },
  { id: 15, name: 'Q8_K', blockSize: QK_K, typeSize: 4 + QK_K + QK_K / 8 },
  { id: 16, name: 'IQ2_XXS', blockSize: QK_K, typeSize: 2 + QK_K / 4 },
  { id: 17, name: 'IQ2_XS', blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 32 },
  { id: 18, name: 'IQ3_XXS', blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 },
  { id: 19, name: 'IQ1_S', blockSize: QK_K, typeSize: 2 + QK_K / 8 + QK_K / 16 },
  { id: 20, name: 'IQ4_NL', blockSize: 32, typeSize: 2 + 16 },
  { id: 21, name: 'IQ3_S', blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4 },
  { id: 22, name: 'IQ2_S', blockSize: QK_K, typeSize: 2 + QK_K / 4 + QK_K / 16 },
  { id: 23, name: 'IQ4_XS', blockSize: QK_K, typeSize: 2 + 2 + QK_K / 2 + QK_K / 64 },
  { id: 24, name: 'I8', blockSize: 1, typeSize: 1, dtype: 'I8' },
  { id: 25, name: 'I16', blockSize: 1, typeSize: 2, dtype: 'I16' },
  { id: 26, name: 'I32', blockSize: 1, typeSize: 4, dtype: 'I32' },
  { id: 27, name: 'I64', blockSize: 1, typeSize: 8, dtype: 'I64' },
  { id: 28, name: 'F64', blockSize: 1, typeSize: 8, dtype: 'F64' },
  { id: 29, name: 'IQ1_M', blockSize: QK_K, typeSize: QK_K / 8 + QK_K / 16 + QK_K / 32 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2, dtype: 'BF16' },
  { id: 34, name: 'TQ1_0', blockSize: QK_K, typeSize: 2 + 4 * 13 },
  { id: 35, name: 'TQ2_0', blockSize: QK_K, typeSize: 2 + 64 },
  { id: 39, name: 'MXFP4', blockSize: 32, typeSize: 1 + 16 },
  { id: 40, name: 'NVFP4', blockSize: 64, typeSize: 4 + 32 },
  { id: 41, name: 'Q1_0', blockSize: 128, typeSize: 2 + 16 },
  { id: 42, name: 'Q2_0', blockSize: 64, typeSize: 2 + 16 },
];

const BY_ID = new Map(TABLE.map((t) => [t.id, t]));
const BY_NAME = new Map(TABLE.map((t) => [t.name, t]));

/** Every ggml type this reader knows, by ascending id. */
export const GGML_TYPES: readonly GgmlType[] = TABLE;

/** The ggml type with this id; throws INVALID_ARGUMENT naming the id (and the tensor, if given) when unknown. */
export function ggmlTypeById(id: number, tensor?: string): GgmlType {
  const t = BY_ID.get(id);
  if (!t) throw invalidArgument(`unknown ggml type ${id}${tensor === undefined ? '' : ` for tensor '${tensor}'`}`);
  return t;
}

/** The ggml type with this name (e.g. 'Q4_K'); throws INVALID_ARGUMENT when unknown. */
export function ggmlTypeByName(name: string): GgmlType {
  const t = BY_NAME.get(name);
  if (!t) throw invalidArgument(`unknown ggml type '${name}'`);
  return t;
}

/** The element ggml type holding a store dtype; throws INVALID_ARGUMENT for dtypes GGUF has no type for (U16...). */
export function ggmlTypeForDType(dtype: DType): GgmlType {
  const t = TABLE.find((x) => x.dtype === dtype);
  if (!t) throw invalidArgument(`GGUF has no tensor type for dtype ${dtype}`);
  return t;
}

/**
 * Bytes of a tensor of `type` with ggml dims `ne` (ne[0] fastest). Throws INVALID_ARGUMENT when ne[0] is not a
 * whole number of blocks or the size is not a safe integer.
 */
export function ggmlByteLength(type: GgmlType, ne: readonly number[], tensor: string): number {
  const row = ne.length === 0 ? 1 : ne[0]!;
  if (row % type.blockSize !== 0) {
    throw invalidArgument(`tensor '${tensor}': first dimension ${row} is not a multiple of ${type.name}'s block size ${type.blockSize}`);
  }
  let n = (row / type.blockSize) * type.typeSize;
  for (let i = 1; i < ne.length; i++) n *= ne[i]!;
  if (!Number.isSafeInteger(n)) throw invalidArgument(`tensor '${tensor}': size of shape [${ne.join(', ')}] is too large`);
  return n;
}
