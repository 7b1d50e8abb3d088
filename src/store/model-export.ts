/**
 * Conversion on `get --format`: a stored model's tensors written in another format. The architecture of the
 * source format cannot cross over (a TF.js graph is not an ONNX graph), so what converts is the tensors, with
 * their meaning kept: TF.js affine-quantized weights are dequantized to F32, block-quantized GGUF tensors
 * refuse to leave GGUF (NOT_SUPPORTED), and only ONNX models export to ONNX.
 *
 *   any -> safetensors   always (tensors + `__metadata__` naming the source)
 *   any -> tfjs          a bare weights manifest + one shard, for dtypes TF.js holds
 *   any -> gguf          element tensors, `general.name` set
 *   X   -> onnx          only X = onnx (the model's own format)
 */
import { notSupported } from '../errors.js';
import { dtypeBytes, elementCount, type DType } from '../formats/dtype.js';
import type { FormatName, ModelSink } from '../formats/model-format.js';
import { writeSafetensors } from '../formats/safetensors/safetensors-writer.js';
import { tfjsWeightSpecs, writeTfjsWeights } from '../formats/tfjs/tfjs-format.js';
import { decodeGgufArchitecture } from '../formats/gguf/gguf-architecture.js';
import { writeGguf } from '../formats/gguf/gguf-writer.js';
import { ggmlTypeForDType } from '../formats/gguf/ggml-types.js';

/** A tensor as it means to its users (not necessarily as its format stores it). */
export interface PlainTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  read(): Promise<Uint8Array>;
}

export interface StoredTensors {
  readonly modelName: string;
  readonly format: FormatName;
  readonly architecture: Uint8Array;
  readonly tensors: ReadonlyArray<{ name: string; dtype: string; shape: readonly number[] }>;
  tensorBytes(index: number): Promise<Uint8Array>;
}

/** The tensors of a stored model with their meaning: quantized TF.js weights dequantized to F32. */
export function plainTensors(model: StoredTensors, target: FormatName): PlainTensor[] {
  const specs = model.format === 'tfjs' ? tfjsWeightSpecs(model.architecture) : undefined;
  const ggml = model.format === 'gguf' ? decodeGgufArchitecture(model.architecture).tensors : undefined;
  return model.tensors.map((t, i) => {
    const type = ggml?.[i]?.type;
    if (type && type.dtype === undefined) {
      throw notSupported(`tensor '${t.name}' is ${type.name} blocks, which only GGUF holds; it cannot be exported as ${target}`);
    }
    const q = specs?.[i]?.quantization;
    if (q && (q.dtype === 'uint8' || q.dtype === 'uint16')) {
      const scale = q.scale ?? 1;
      const min = q.min ?? 0;
      return {
        name: t.name, dtype: 'F32', shape: t.shape,
        read: async () => dequantize(await model.tensorBytes(i), q.dtype === 'uint8' ? 1 : 2, scale, min),
      };
    }
    return { name: t.name, dtype: t.dtype as DType, shape: t.shape, read: () => model.tensorBytes(i) };
  });
}

function dequantize(codes: Uint8Array, width: 1 | 2, scale: number, min: number): Uint8Array {
  const n = codes.length / width;
  const out = new Float32Array(n);
  const view = new DataView(codes.buffer, codes.byteOffset, codes.length);
  for (let i = 0; i < n; i++) out[i] = (width === 1 ? codes[i]! : view.getUint16(2 * i, true)) * scale + min;
  return new Uint8Array(out.buffer);
}

/** Writes `model`'s tensors as `target` through `sink`. NOT_SUPPORTED where the conversion makes no sense. */
export async function exportTensors(model: StoredTensors, target: FormatName, sink: ModelSink): Promise<void> {
  if (target === 'onnx') {
    throw notSupported(`'${model.modelName}' is a ${model.format} model; only ONNX models export to ONNX (an ONNX file needs a graph)`);
  }
  const tensors = plainTensors(model, target);
  if (target === 'gguf') {
    for (const t of tensors) {
      try {
        ggmlTypeForDType(t.dtype);
      } catch {
        throw notSupported(`tensor '${t.name}' is ${t.dtype}, which GGUF has no type for`);
      }
    }
  }
  if (target === 'tfjs') {
    await writeTfjsWeights(tensors, (i) => tensors[i]!.read(), sink);
    return;
  }
  const out = await sink.create(`${model.modelName.replace(/[^\w.-]+/g, '_')}.${target}`);
  try {
    if (target === 'safetensors') {
      const meta = { 'neurstore.model': model.modelName, 'neurstore.source_format': model.format };
      await writeSafetensors(tensors.map((t) => ({ ...t, byteLength: elementCount(t.shape) * dtypeBytes(t.dtype) })), (i) => tensors[i]!.read(), out, meta);
    } else {
      await writeGguf([['general.name', { type: 'STRING', value: model.modelName }]], tensors, out);
    }
  } finally {
    await out.close();
  }
}
