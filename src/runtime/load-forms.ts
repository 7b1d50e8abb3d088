/**
 * The forms a loaded tensor takes in each load mode, and the conversions between them (pure functions):
 *   exact       the bytes that were stored, in the source dtype
 *   fp32        Float32Array values
 *   fp16        IEEE half bit patterns (Uint16Array), rounded to nearest even
 *   int8        the 8-bit form of the tensor's base (base only, as the paper's code loads it): a fine-tune's
 *               tensors come back as their shared base's codes, the delta dropped
 *   int8+delta  the base's 8-bit form plus the residual quantized at step 2·tol, so every element is within
 *               tol of the exact value (up to float32 rounding of the sum); codes are int8 where they fit,
 *               else int16 or int32, never truncated
 * Tensors that are not floats, or hold NaN/infinity (which 8-bit forms cannot hold), stay in their exact or
 * fp32 form in every mode.
 */
import { dequantize8, type Quant8 } from '../codecs/quant8.js';
import { kernels } from '../kernels/kernels.js';
import { fromDTypeBytes, fromF16Bits, toF16Bits } from '../codecs/half-float.js';
import { invalidArgument } from '../errors.js';

export const LOAD_MODES = ['exact', 'fp32', 'fp16', 'int8', 'int8+delta'] as const;
export type LoadMode = (typeof LOAD_MODES)[number];

/** A quantized residual: value = codes[i] * scale. */
export interface QuantDelta {
  readonly codes: Int8Array | Int16Array | Int32Array;
  readonly scale: number;
}

/** Shrinks the step a little so rounding of the reconstruction stays inside tol. */
const STEP_SHRINK = 1 - 2 ** -10;
const MAX_CODE = 2 ** 30;

export function checkLoadMode(mode: string): LoadMode {
  if (!(LOAD_MODES as readonly string[]).includes(mode)) {
    throw invalidArgument(`unknown load mode '${mode}' (expected one of ${LOAD_MODES.join(', ')})`);
  }
  return mode as LoadMode;
}

/**
 * The residual of `values` against `base` (an 8-bit base's float32 values), quantized at step 2·tol: every
 * element of base + codes·scale is within tol of `values`. Null when a residual code would not fit 31 bits.
 */
export function residualDelta(values: Float32Array, base: Float32Array, tol: number): QuantDelta | null {
  if (!(tol > 0) || !Number.isFinite(tol)) throw invalidArgument(`tolerance must be a positive number, got ${tol}`);
  if (base.length !== values.length) throw invalidArgument(`base has ${base.length} elements, tensor has ${values.length}`);
  const step = Math.fround(2 * tol * STEP_SHRINK);
  const q = new Int32Array(values.length);
  const peak = kernels().residualCodes(values, base, 1 / step, MAX_CODE, q);
  if (peak < 0) return null;
  const codes = peak <= 127 ? Int8Array.from(q) : peak <= 32767 ? Int16Array.from(q) : q;
  return { codes, scale: step };
}

/** The float32 values an 8-bit base (plus a residual) stands for. */
export function reconstruct(q8: Quant8, delta?: QuantDelta): Float32Array {
  const out = dequantize8(q8);
  if (delta) for (let i = 0; i < out.length; i++) out[i] = out[i]! + delta.codes[i]! * delta.scale;
  return out;
}

export function fp16Of(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toF16Bits(values[i]!);
  return out;
}

/** Where a loaded tensor sits in its model. */
export interface LoadedTensorInfo {
  readonly index: number;
  readonly name: string;
  /** Dtype the tensor was put with. */
  readonly dtype: string;
  readonly shape: readonly number[];
}

/**
 * A tensor as a load mode hands it out. Its arrays are shared with the shared-base cache (and, for 8-bit
 * bases, with every model built on the same base): treat them as read-only and copy before modifying.
 */
export type LoadedTensor = LoadedTensorInfo &
  (
    | { readonly form: 'bytes'; readonly bytes: Uint8Array }
    | { readonly form: 'f32'; readonly values: Float32Array }
    | { readonly form: 'f16'; readonly bits: Uint16Array }
    | {
        readonly form: 'int8';
        /** The 8-bit base; the same object for every tensor (of any model) that shares the base. */
        readonly q8: Quant8;
        /** The residual (int8+delta only). */
        readonly delta?: QuantDelta;
        /** The record of the shared base, when the tensor was stored as a delta of one. */
        readonly baseKey?: bigint;
      }
  );

/** Bytes of memory a loaded tensor's arrays hold (a shared base counts in full for each tensor). */
export function loadedBytes(t: LoadedTensor): number {
  switch (t.form) {
    case 'bytes': return t.bytes.byteLength;
    case 'f32': return t.values.byteLength;
    case 'f16': return t.bits.byteLength;
    case 'int8': return t.q8.codes.byteLength + (t.delta?.codes.byteLength ?? 0);
  }
}

/** The float32 values a loaded float tensor stands for in any form (empty for a non-float tensor's bytes). */
export function loadedValues(t: LoadedTensor): Float32Array {
  switch (t.form) {
    case 'f32': return t.values;
    case 'f16': return Float32Array.from(t.bits, fromF16Bits);
    case 'int8': return reconstruct(t.q8, t.delta);
    case 'bytes':
      return t.dtype === 'F32' || t.dtype === 'F16' || t.dtype === 'BF16' ? fromDTypeBytes(t.bytes, t.dtype) : new Float32Array(0);
  }
}
