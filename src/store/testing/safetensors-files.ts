/** Test support: writes safetensors files from in-memory tensors with the project's own writer. */
import { writeFileSync } from 'node:fs';
import { memorySink } from '../../formats/byte-source.js';
import { writeSafetensors } from '../../formats/safetensors/safetensors-writer.js';

export interface TestTensor {
  name: string;
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export async function safetensorsBytes(tensors: TestTensor[], metadata?: Record<string, string>): Promise<Uint8Array> {
  const sink = memorySink();
  await writeSafetensors(
    tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.bytes.length })),
    async (i) => tensors[i]!.bytes,
    sink,
    metadata,
  );
  return sink.bytes();
}

export async function writeSafetensorsFile(path: string, tensors: TestTensor[], metadata?: Record<string, string>): Promise<string> {
  writeFileSync(path, await safetensorsBytes(tensors, metadata));
  return path;
}
