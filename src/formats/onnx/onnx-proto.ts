/**
 * ModelProto objects for graph rewrites (e.g. inserting DequantizeLinear nodes): decode a stored model into
 * a protobufjs message, modify it, encode it again.
 *
 * Re-encoding through protobufjs is not byte-identical in general (use `onnxFormat.write` when it must be):
 * fields come out in schema declaration order, not file order; unknown fields (newer ONNX) are dropped;
 * repeated scalars follow the schema's packing (only TensorProto typed data packed) whatever the file used;
 * non-minimal varints are re-encoded minimal; a repeated field split by other fields is joined. Files from the
 * reference C++ serializer (the three Silero VAD models, say) do survive byte for byte, as a test checks.
 */
import type protobuf from 'protobufjs';
import { invalidArgument } from '../../errors.js';
import { memorySink } from '../byte-source.js';
import type { StoredModel } from '../model-format.js';
import { decodeOnnxArchitecture } from './onnx-architecture.js';
import { ModelProtoType, TensorProtoType } from './onnx-schema.js';
import { locationCandidates } from './onnx-reader.js';
import { writeMainFile } from './onnx-writer.js';

/** A decoded ModelProto; fields are named as in onnx.proto (snake_case), int64 fields are `Long`s. */
export type OnnxModelProto = protobuf.Message & Record<string, unknown>;

/**
 * Rebuilds the model from the store and decodes it. External data is inlined into `raw_data` (and
 * `data_location`/`external_data` cleared) so the result is one self-contained message that ONNX Runtime
 * can load from bytes. Throws INVALID_ARGUMENT when the architecture or the rebuilt bytes are malformed.
 */
export async function decodeOnnxModel(model: StoredModel): Promise<OnnxModelProto> {
  const arch = decodeOnnxArchitecture(model.architecture);
  const sink = memorySink();
  await writeMainFile(arch, (i) => model.tensorBytes(i), sink);
  let message: OnnxModelProto;
  try {
    message = ModelProtoType.decode(sink.bytes()) as OnnxModelProto;
  } catch (e) {
    throw invalidArgument(`ONNX model does not decode: ${(e as Error).message}`, e);
  }
  const external = new Map<string, number>();
  for (const x of arch.externals) for (const [offset, , tensor] of x.spans) external.set(`${x.file}\0${offset}`, tensor);
  for (const t of tensorMessages(message)) {
    if (t['data_location'] !== 1) continue;
    const entries = (t['external_data'] ?? []) as { key?: string; value?: string }[];
    const get = (k: string): string | undefined => entries.find((e) => e.key === k)?.value;
    const files = locationCandidates(get('location') ?? '', arch.main) ?? [];
    const tensor = files.map((f) => external.get(`${f}\0${Number(get('offset') ?? 0)}`)).find((i) => i !== undefined);
    if (tensor === undefined) throw invalidArgument(`external tensor '${String(t['name'])}' is not in the architecture`);
    t['raw_data'] = await model.tensorBytes(tensor);
    t['external_data'] = [];
    delete t['data_location'];
  }
  return message;
}

/** Every TensorProto inside `root`, at any depth (initializers, attributes, subgraphs, sparse tensors). */
export function tensorMessages(root: protobuf.Message): Array<protobuf.Message & Record<string, unknown>> {
  const out: Array<protobuf.Message & Record<string, unknown>> = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object' && '$type' in v) {
      if ((v as protobuf.Message).$type === TensorProtoType) out.push(v as protobuf.Message & Record<string, unknown>);
      else for (const key of Object.keys(v)) visit((v as Record<string, unknown>)[key]);
    }
  };
  visit(root);
  return out;
}

/**
 * Encodes a (possibly modified) ModelProto, given as a protobufjs message or a plain object with the
 * schema's field names. Throws INVALID_ARGUMENT naming the first field protobufjs rejects.
 */
export function encodeOnnxModel(model: protobuf.Message | Record<string, unknown>): Uint8Array {
  const problem = ModelProtoType.verify(model);
  if (problem) throw invalidArgument(`not a valid ModelProto: ${problem}`);
  const message = model instanceof ModelProtoType.ctor ? model : ModelProtoType.fromObject(model);
  return ModelProtoType.encode(message).finish();
}
