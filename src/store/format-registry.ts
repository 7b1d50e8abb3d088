/**
 * The formats the store reads and writes, and detection by content: each format's `detect` looks at bytes
 * (magic numbers, JSON shape), never at file names. Order matters only for formats with weak signatures.
 * A format handed out here names the model's path in its read errors (the readers know only file names).
 */
import { NeurStoreError, invalidArgument } from '../errors.js';
import type { FormatName, ModelFormat, ModelSource } from '../formats/model-format.js';
import type { NamedSource } from './model-files.js';
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
  return namingThePath(f);
}

/** Finds the format of `source` by content. INVALID_ARGUMENT when none recognizes it. */
export async function detectFormat(source: ModelSource): Promise<ModelFormat> {
  for (const f of FORMATS) {
    try {
      if (await f.detect(source)) return namingThePath(f);
    } catch (e) {
      if (!(e instanceof NeurStoreError) || e.code !== 'INVALID_ARGUMENT') throw e;
    }
  }
  throw invalidArgument(
    `${placeOf(source)}: not a model in any known format (${formatNames().join(', ')}); if it is one of them, ` +
      'put it again with --format NAME (the `format` option) to see what is wrong with it',
  );
}

/** What error messages call the model: the path the user named, else its files. */
function placeOf(source: ModelSource): string {
  const path = (source as Partial<NamedSource>).path;
  return path ?? source.files.join(', ');
}

/** `f`, its read errors prefixed with the model's path unless they name it already. */
function namingThePath(f: ModelFormat): ModelFormat {
  return {
    ...f,
    async read(source) {
      try {
        return await f.read(source);
      } catch (e) {
        const place = placeOf(source);
        if (!(e instanceof NeurStoreError) || e.message.includes(place)) throw e;
        throw new NeurStoreError(e.code, `${place}: ${e.message}`, { cause: e });
      }
    },
  };
}
