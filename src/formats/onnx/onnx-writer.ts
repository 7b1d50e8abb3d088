/**
 * Writes an ONNX model back from its architecture and tensors: the .onnx file is the skeleton with each
 * tensor's bytes spliced into its cut, each external data file is its tensors' bytes with the recorded gap
 * bytes between them. The output is byte-identical to the files `readOnnx` saw when the tensors are.
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSink } from '../byte-source.js';
import type { ModelSink, StoredModel } from '../model-format.js';
import type { ExternalFile, OnnxArchitecture } from './onnx-architecture.js';
import { decodeOnnxArchitecture } from './onnx-architecture.js';

type TensorBytes = (index: number) => Promise<Uint8Array>;

/** Writes the model's files to `sink`. INVALID_ARGUMENT when the architecture is malformed or a tensor's
 * byte count differs from the one it replaces (a splice of another length would break every length prefix). */
export async function writeOnnx(model: StoredModel, sink: ModelSink): Promise<void> {
  const arch = decodeOnnxArchitecture(model.architecture);
  const bytes: TensorBytes = (i) => model.tensorBytes(i);
  const main = await sink.create(arch.main);
  await writeMainFile(arch, bytes, main);
  await main.close();
  let gapAt = 0;
  for (const x of arch.externals) {
    const out = await sink.create(x.file);
    gapAt = await writeExternalFile(x, arch.gaps, gapAt, bytes, out);
    await out.close();
  }
}

/** Streams the .onnx file (skeleton plus spliced tensors) to `out`. */
export async function writeMainFile(arch: OnnxArchitecture, bytes: TensorBytes, out: ByteSink): Promise<void> {
  let from = 0;
  let skel = 0;
  for (const [start, end, tensor] of arch.cuts) {
    const keep = start - from;
    if (keep > 0) await out.write(arch.skeleton.subarray(skel, skel + keep));
    skel += keep;
    await out.write(await sized(bytes, tensor, end - start));
    from = end;
  }
  if (skel < arch.skeleton.length) await out.write(arch.skeleton.subarray(skel));
}

async function writeExternalFile(x: ExternalFile, gaps: Uint8Array, gapAt: number, bytes: TensorBytes,
  out: ByteSink): Promise<number> {
  let at = 0;
  let g = gapAt;
  for (const [offset, length, tensor] of x.spans) {
    if (offset < at) continue; // a repeat of the previous range: tensors sharing external bytes
    if (offset > at) {
      await out.write(gaps.subarray(g, g + offset - at));
      g += offset - at;
    }
    await out.write(await sized(bytes, tensor, length));
    at = offset + length;
  }
  if (x.size > at) {
    await out.write(gaps.subarray(g, g + x.size - at));
    g += x.size - at;
  }
  return g;
}

async function sized(bytes: TensorBytes, tensor: number, length: number): Promise<Uint8Array> {
  const b = await bytes(tensor);
  if (b.length !== length) throw invalidArgument(`tensor ${tensor} has ${b.length} bytes, the ONNX model needs ${length}`);
  return b;
}
