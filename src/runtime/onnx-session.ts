/**
 * ONNX Runtime sessions from stored models. `qdqWeight` turns a tensor's 8-bit base (plus, in int8+delta, a
 * residual) into the integer initializers `rewriteWithQdq` puts in the graph, so ONNX Runtime decodes the
 * weights itself. onnxruntime-node is imported on first use.
 */
import type * as ortTypes from 'onnxruntime-node';
import type { Quant8 } from '../codecs/quant8.js';
import { residualDelta } from './load-forms.js';
import type { QdqWeight } from './onnx-qdq.js';

export type OnnxSession = ortTypes.InferenceSession;
export type OnnxSessionOptions = ortTypes.InferenceSession.SessionOptions;

/** A session over the model in `bytes` (a self-contained .onnx file). */
export async function ortSession(bytes: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const ort = await import('onnxruntime-node');
  return ort.InferenceSession.create(bytes, options);
}

/**
 * The DequantizeLinear form of an 8-bit base: ONNX's `(q - zero) * scale` has an integer zero point, so
 * `min + code * scale` is matched with zero = round(-min / scale); the offset this leaves (at most half a
 * step) goes into the residual when `tol` is given. Null when the base is constant (scale 0) or its zero
 * point falls outside 0..255 (a tensor of one sign far from zero), or a residual code would not fit.
 */
export function qdqWeight(q8: Quant8, values: Float32Array, tol: number | null): QdqWeight | null {
  if (!(q8.scale > 0)) return null;
  const zeroPoint = Math.round(-q8.min / q8.scale);
  if (zeroPoint < 0 || zeroPoint > 255) return null;
  const base = { codes: q8.codes, scale: q8.scale, zeroPoint };
  if (tol === null) return { base };
  const deq = new Float32Array(values.length);
  for (let i = 0; i < deq.length; i++) deq[i] = (q8.codes[i]! - zeroPoint) * q8.scale;
  const delta = residualDelta(values, deq, tol);
  return delta ? { base, delta } : null;
}
