/**
 * safetensors as a `ModelFormat`: one file, split into its verbatim header (the architecture, see
 * safetensors-architecture.ts for the byte layout) and its tensors, and written back byte for byte.
 * Sharded checkpoints (model-0000x-of-0000y.safetensors plus an index JSON) are not handled here.
 */
import { invalidArgument, notSupported } from '../../errors.js';
import type { ByteSink } from '../byte-source.js';
import type { ModelFormat, ModelLayout, ModelSink, ModelSource, StoredModel } from '../model-format.js';
import { decodeSafetensorsArchitecture, encodeSafetensorsArchitecture } from './safetensors-architecture.js';
import { LENGTH_PREFIX_BYTES, readSafetensors } from './safetensors-reader.js';
import { writeSafetensorsVerbatim } from './safetensors-writer.js';

/** Smallest valid file: the prefix and the header `{}`. */
const MIN_FILE_BYTES = LENGTH_PREFIX_BYTES + 2;

/**
 * Header lengths below this are taken as a safetensors prefix. A JSON or protobuf file's first 8 bytes read as
 * a far larger number (text bytes in its top two), so a header over the limit, or a file cut short, is still
 * recognized as safetensors and refused by `read` with the reason, not as "not a model".
 */
const PLAUSIBLE_HEADER_BYTES = 2n ** 48n;

/**
 * True when the source is one file that starts with a plausible header length (at least 2, below 2^48)
 * followed by `{`. Reads 9 bytes; never throws for non-safetensors content.
 */
async function detect(source: ModelSource): Promise<boolean> {
  if (source.files.length !== 1) return false;
  const bytes = await source.open(source.files[0]);
  if (bytes.size < MIN_FILE_BYTES) return false;
  const head = await bytes.read(0, LENGTH_PREFIX_BYTES + 1);
  const n = new DataView(head.buffer, head.byteOffset, head.length).getBigUint64(0, true);
  return n >= 2n && n < PLAUSIBLE_HEADER_BYTES && head[LENGTH_PREFIX_BYTES] === 0x7b;
}

/** Reads the single file of `source`; see `readSafetensors` for what is validated. */
async function read(source: ModelSource): Promise<ModelLayout> {
  if (source.files.length !== 1) {
    throw notSupported(
      `a safetensors model is one file; got ${source.files.length} (sharded checkpoints are not supported)`,
    );
  }
  const fileName = source.files[0];
  const file = await readSafetensors(await source.open(fileName));
  return {
    format: 'safetensors',
    architecture: encodeSafetensorsArchitecture(fileName, file.headerBytes),
    tensors: file.tensors,
  };
}

/**
 * Recreates the file under its original name, byte-identical to what `read` saw. The file is created on the
 * first write, after the header has been validated, so a bad architecture leaves no file behind.
 */
async function write(model: StoredModel, sink: ModelSink): Promise<void> {
  const arch = decodeSafetensorsArchitecture(model.architecture);
  if (arch.fileName.length === 0) throw invalidArgument('safetensors architecture has an empty file name');
  let out: (ByteSink & { close(): Promise<void> }) | undefined;
  const lazy: ByteSink = {
    async write(chunk: Uint8Array): Promise<void> {
      out ??= await sink.create(arch.fileName);
      await out.write(chunk);
    },
    // The file is created by the header's write, before any tensor's: its sink's answer is known by then.
    get releasesBytes() {
      return out?.releasesBytes === true;
    },
  };
  try {
    await writeSafetensorsVerbatim(arch.header, model, lazy);
  } finally {
    await out?.close();
  }
}

export const safetensorsFormat: ModelFormat = { name: 'safetensors', detect, read, write };
