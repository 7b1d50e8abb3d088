/**
 * The int8 and int8+delta ONNX models `store.onnxSession` runs: the stored model rebuilt, each float weight's
 * 8-bit form (its stored base's, shared by the family, else its own) found through the load pipeline, and
 * the graph rewritten into DequantizeLinear nodes (runtime/onnx-qdq.ts). Weights are matched to stored
 * tensors by the digest of their bytes, since names inside subgraphs are qualified differently.
 */
import { createHash } from 'node:crypto';
import type { TensorRow } from '../catalog/catalog.js';
import type { StoredModel } from '../formats/model-format.js';
import { decodeOnnxModel, encodeOnnxModel } from '../formats/onnx/onnx-proto.js';
import { rewriteWithQdq, type QdqWeight } from '../runtime/onnx-qdq.js';
import { qdqWeight } from '../runtime/onnx-session.js';
import type { ModelLoader } from './model-loader.js';
import { QDQ_MIN_ELEMENTS } from './store-types.js';

const digestOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The model's bytes with its float weights as 8-bit codes (+ residuals within `tol` when `tol` is given). */
export async function quantizedOnnxBytes(stored: StoredModel, rows: readonly TensorRow[], loader: ModelLoader, tol: number | null): Promise<Uint8Array> {
  const weights = new Map<number, Uint8Array>();
  const proto = await decodeOnnxModel({
    architecture: stored.architecture,
    tensorBytes: async (i) => {
      const bytes = await stored.tensorBytes(i);
      if (rows[i]?.dtype === 'F32' && bytes.length >= 4 * QDQ_MIN_ELEMENTS) weights.set(i, bytes);
      return bytes;
    },
  });
  const forms = new Map<string, QdqWeight | null>();
  for (const [i, bytes] of weights) {
    const key = digestOf(bytes);
    if (forms.has(key)) continue;
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const form = await loader.int8Form(rows[i]!, values);
    forms.set(key, form ? qdqWeight(form.q8, values, tol) : null);
  }
  const { model } = rewriteWithQdq(proto, (t) =>
    t.values.length < QDQ_MIN_ELEMENTS ? null : (forms.get(digestOf(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength))) ?? null));
  return encodeOnnxModel(model);
}
