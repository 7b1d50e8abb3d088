/**
 * Per-tensor asymmetric 8-bit quantization, the base-tensor form of the paper:
 * `scale = (max - min) / 255`, `code = round((x - min) / scale)`, `x' = min + code * scale`.
 * A constant tensor has scale 0 and all codes 0. Used by the codecs (base tensors) and by vector-index (the space).
 * The loops are kernels (wasm when built, identical TS otherwise).
 */
import { kernels } from '../kernels/kernels.js';

/** An 8-bit tensor: `value(i) = min + codes[i] * scale`. Owns `codes`. */
export interface Quant8 {
  readonly codes: Uint8Array;
  readonly min: number;
  readonly scale: number;
}

/** Quantizes `x`; NaN and infinities are not representable and throw RangeError naming the index. */
export function quantize8(x: Float32Array | Float64Array): Quant8 {
  const q = tryQuantize8(x);
  if (q) return q;
  const i = x.findIndex((v) => !Number.isFinite(v));
  throw new RangeError(`element ${i} is ${x[i]}: only finite values can be quantized`);
}

/** Quantizes `x`, or null when it holds NaN or an infinity. */
export function tryQuantize8(x: Float32Array | Float64Array): Quant8 | null {
  const codes = new Uint8Array(x.length);
  const r = kernels().quantize8(x, codes);
  return r && { codes, min: r.min, scale: r.scale };
}

/** Decodes into `out` (allocated when omitted) as float32. */
export function dequantize8(q: Quant8, out: Float32Array = new Float32Array(q.codes.length)): Float32Array {
  kernels().dequantize8(q.codes, q.min, q.scale, out);
  return out;
}
