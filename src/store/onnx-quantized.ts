/**
 * The int8 and int8+delta ONNX models `store.onnxSession` runs: the stored model rebuilt, each float weight's
 * 8-bit form (its stored base's, shared by the family, else its own) found through the load pipeline, and
 * the model's bytes rewritten with DequantizeLinear nodes (runtime/onnx-qdq.ts) without decoding them into
 * messages. A weight is matched to its stored tensor by where its payload sits: the architecture's cut for
 * tensor i starts where the rebuilt file holds tensor i's bytes. A model with external data is first inlined
 * (decoded and re-encoded) and matched by the digest of its weights' bytes instead.
 */
import { createHash } from 'node:crypto';
import type { TensorRow } from '../catalog/catalog.js';
import { elementCount } from '../formats/dtype.js';
import type { StoredModel } from '../formats/model-format.js';
import { decodeOnnxArchitecture, type OnnxArchitecture } from '../formats/onnx/onnx-architecture.js';
import { decodeOnnxModel, encodeOnnxModel } from '../formats/onnx/onnx-proto.js';
import { writeMainFile } from '../formats/onnx/onnx-writer.js';
import { rewriteQdqBytes, type QdqCandidate, type QdqWeight } from '../runtime/onnx-qdq.js';
import { qdqWeight } from '../runtime/onnx-session.js';
import type { ModelLoader } from './model-loader.js';
import { QDQ_MIN_ELEMENTS } from './store-types.js';

const digestOf = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The main .onnx file: views of the skeleton and of the decoded tensors, joined once. */
async function mainFile(arch: OnnxArchitecture, tensorBytes: (i: number) => Promise<Uint8Array>): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  await writeMainFile(arch, tensorBytes, { write: async (b) => void pieces.push(b) });
  return Buffer.concat(pieces);
}

/** The model's bytes with its float weights as 8-bit codes (+ residuals within `tol` when `tol` is given). */
export async function quantizedOnnxBytes(stored: StoredModel, rows: readonly TensorRow[], loader: ModelLoader, tol: number | null): Promise<Uint8Array> {
  const weights = new Map<number, Uint8Array>();
  const tensorBytes = async (i: number): Promise<Uint8Array> => {
    const bytes = await stored.tensorBytes(i);
    if (rows[i]?.dtype === 'F32' && bytes.length >= 4 * QDQ_MIN_ELEMENTS) weights.set(i, bytes);
    return bytes;
  };
  const arch = decodeOnnxArchitecture(stored.architecture);
  let model: Uint8Array;
  let tensorOf: (c: QdqCandidate) => number | undefined;
  if (arch.externals.length === 0) {
    model = await mainFile(arch, tensorBytes);
    const atOffset = new Map(arch.cuts.map(([start, , tensor]) => [start, tensor]));
    tensorOf = (c) => atOffset.get(c.payloadStart);
  } else {
    model = encodeOnnxModel(await decodeOnnxModel({ architecture: stored.architecture, tensorBytes }));
    const byDigest = new Map([...weights].map(([i, bytes]) => [digestOf(bytes), i]));
    tensorOf = (c) => byDigest.get(digestOf(new Uint8Array(c.values.buffer, c.values.byteOffset, c.values.byteLength)));
  }
  // Per stored record, not per tensor: a weight repeated in the model (two subgraphs sharing it) is one record.
  const forms = new Map<bigint, QdqWeight | null>();
  for (const [i, bytes] of weights) {
    const row = rows[i]!;
    if (forms.has(row.recordKey)) continue;
    const values = bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
      : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const form = await loader.int8Form(row, values);
    forms.set(row.recordKey, form ? qdqWeight(form.q8, values, tol) : null);
  }
  const pick = (c: QdqCandidate): QdqWeight | null => {
    if (elementCount(c.dims) < QDQ_MIN_ELEMENTS) return null;
    const i = tensorOf(c);
    return i === undefined || !weights.has(i) ? null : (forms.get(rows[i]!.recordKey) ?? null);
  };
  return rewriteQdqBytes(model, pick).bytes;
}
