/**
 * ONNX `TensorProto.DataType` codes and how each maps onto the store's `DType`.
 *
 * Types with a store element of the same meaning map one to one. Complex types become their real parts'
 * float type with a trailing axis of 2 (the bytes are interleaved re/im already). Types the store has no
 * element for (the FNUZ float8 variants, E8M0, the 4- and 2-bit types) travel as raw bytes (`U8`); the real
 * type stays in the architecture, which keeps the TensorProto's `data_type` field verbatim.
 */
import { invalidArgument } from '../../errors.js';
import type { DType } from '../dtype.js';
import { elementCount } from '../dtype.js';

/** How one ONNX element type is stored. `bits` is the size of one ONNX element. */
export interface OnnxTypeInfo {
  readonly onnxName: string;
  readonly dtype: DType;
  readonly bits: number;
  /** True when the store sees the payload as plain bytes (shape `[byteLength]`). */
  readonly opaque: boolean;
  /** True for COMPLEX64/128: shape gains a trailing axis of 2. */
  readonly complex: boolean;
}

function t(onnxName: string, dtype: DType, bits: number, opaque = false, complex = false): OnnxTypeInfo {
  return { onnxName, dtype, bits, opaque, complex };
}

/** Storable ONNX element types by code. STRING (8) is absent: string tensors stay in the architecture. */
export const ONNX_TYPES: ReadonlyMap<number, OnnxTypeInfo> = new Map([
  [1, t('FLOAT', 'F32', 32)],
  [2, t('UINT8', 'U8', 8)],
  [3, t('INT8', 'I8', 8)],
  [4, t('UINT16', 'U16', 16)],
  [5, t('INT16', 'I16', 16)],
  [6, t('INT32', 'I32', 32)],
  [7, t('INT64', 'I64', 64)],
  [9, t('BOOL', 'BOOL', 8)],
  [10, t('FLOAT16', 'F16', 16)],
  [11, t('DOUBLE', 'F64', 64)],
  [12, t('UINT32', 'U32', 32)],
  [13, t('UINT64', 'U64', 64)],
  [14, t('COMPLEX64', 'F32', 64, false, true)],
  [15, t('COMPLEX128', 'F64', 128, false, true)],
  [16, t('BFLOAT16', 'BF16', 16)],
  [17, t('FLOAT8E4M3FN', 'F8_E4M3', 8)],
  [18, t('FLOAT8E4M3FNUZ', 'U8', 8, true)],
  [19, t('FLOAT8E5M2', 'F8_E5M2', 8)],
  [20, t('FLOAT8E5M2FNUZ', 'U8', 8, true)],
  [21, t('UINT4', 'U8', 4, true)],
  [22, t('INT4', 'U8', 4, true)],
  [23, t('FLOAT4E2M1', 'U8', 4, true)],
  [24, t('FLOAT8E8M0', 'U8', 8, true)],
  [25, t('UINT2', 'U8', 2, true)],
  [26, t('INT2', 'U8', 2, true)],
]);

export const ONNX_STRING = 8;
export const ONNX_UNDEFINED = 0;

/** The storage info of a data type code; INVALID_ARGUMENT naming the code when ONNX defines no such type. */
export function onnxTypeInfo(code: number, tensorName: string): OnnxTypeInfo {
  const info = ONNX_TYPES.get(code);
  if (!info) throw invalidArgument(`tensor '${tensorName}' has unknown ONNX data_type ${code}`);
  return info;
}

/** Bytes of the little-endian payload of a tensor with these dims (sub-byte types round up). */
export function onnxPayloadBytes(info: OnnxTypeInfo, dims: readonly number[]): number {
  const bits = elementCount(dims) * info.bits;
  if (!Number.isSafeInteger(bits)) throw invalidArgument(`tensor of shape [${dims.join(', ')}] is too large`);
  return Math.ceil(bits / 8);
}

/** The shape the store sees for a tensor with these dims. */
export function storeShape(info: OnnxTypeInfo, dims: readonly number[], byteLength: number): number[] {
  if (info.opaque) return info.bits === 8 ? [...dims] : [byteLength];
  return info.complex ? [...dims, 2] : [...dims];
}
