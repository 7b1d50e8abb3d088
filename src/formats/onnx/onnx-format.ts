/**
 * The ONNX member of the `ModelFormat` family. Reading splits a ModelProto (and its external data files)
 * into a byte-exact architecture and the tensors; writing splices them back, so a model read and written
 * with unchanged tensors is byte-identical to its source files. Details: `onnx-reader.ts`, `onnx-scan.ts`,
 * `onnx-architecture.ts`, `onnx-writer.ts`; for graph rewrites through protobufjs see `onnx-proto.ts`.
 */
import type { ModelFormat, ModelSource } from '../model-format.js';
import { findModelFile } from './onnx-detect.js';
import { readOnnx } from './onnx-reader.js';
import { writeOnnx } from './onnx-writer.js';

/** ONNX models: one .onnx file, plus any external data files it names (all in the same `ModelSource`). */
export const onnxFormat: ModelFormat = {
  name: 'onnx',
  async detect(source: ModelSource): Promise<boolean> {
    return (await findModelFile(source)) !== null;
  },
  read: readOnnx,
  write: writeOnnx,
};
