/**
 * The formats the store reads and writes, and detection by content: each format's `detect` looks at bytes
 * (magic numbers, JSON shape), never at file names. Order matters only for formats with weak signatures.
 */
import { NeurStoreError, invalidArgument } from '../errors.js';
import type { FormatName, ModelFormat, ModelSource } from '../formats/model-format.js';
import { safetensorsFormat } from '../formats/safetensors/safetensors-format.js';
import { tfjsFormat } from '../formats/tfjs/tfjs-format.js';
import { onnxFormat } from '../formats/onnx/onnx-format.js';
import { ggufFormat } from '../formats/gguf/gguf-format.js';

/** ONNX last: a protobuf has no magic number, so its detection is the weakest. */
const FORMATS: readonly ModelFormat[] = [ggufFormat, safetensorsFormat, tfjsFormat, onnxFormat];

export function formatNames(): FormatName[] {
  return FORMATS.map((f) => f.name);
}

/** The format called `name`; INVALID_ARGUMENT listing the known ones otherwise. */
export function formatByName(name: string): ModelFormat {
  const f = FORMATS.find((x) => x.name === name);
  if (!f) throw invalidArgument(`unknown format '${name}'; known formats: ${formatNames().join(', ')}`);
  return f;
}

/** Finds the format of `source` by content. INVALID_ARGUMENT when none recognizes it. */
export async function detectFormat(source: ModelSource): Promise<ModelFormat> {
  for (const f of FORMATS) {
    try {
      if (await f.detect(source)) return f;
    } catch (e) {
      if (!(e instanceof NeurStoreError) || e.code !== 'INVALID_ARGUMENT') throw e;
    }
  }
  throw invalidArgument(`${source.files.join(', ')}: not a model in any known format (${formatNames().join(', ')})`);
}
