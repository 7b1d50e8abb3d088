/**
 * safetensors as a `ModelFormat`: one file, split into its verbatim header (the architecture, see
 * safetensors-architecture.ts for the byte layout) and its tensors, and written back byte for byte; or a sharded
 * checkpoint, its index JSON and shards read as one model (safetensors-shards.ts).
 *
 * What a source holds decides which: its `*.safetensors.index.json` (the user named the index, or a directory
 * holding one); else its one safetensors file (the user named it, whatever its name, or a directory holding one
 * `*.safetensors` file beside files such as config.json, which are not part of the model, as a TF.js
 * directory's other files are not).
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSink } from '../byte-source.js';
import type { ModelFormat, ModelLayout, ModelSink, ModelSource, StoredModel } from '../model-format.js';
import {
  decodeSafetensorsArchitecture, decodeShardedArchitecture, encodeSafetensorsArchitecture, isShardedArchitecture,
  type SafetensorsArchitecture,
} from './safetensors-architecture.js';
import { parseSafetensorsHeader } from './safetensors-header.js';
import { LENGTH_PREFIX_BYTES, readSafetensors } from './safetensors-reader.js';
import { INDEX_SUFFIX, isIndexName, readShardedSafetensors } from './safetensors-shards.js';
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
 * True when file `name` of the source starts with a plausible header length (at least 2, below 2^48) followed
 * by `{`. Reads 9 bytes; never throws for non-safetensors content.
 */
async function looksLikeSafetensors(source: ModelSource, name: string): Promise<boolean> {
  const bytes = await source.open(name);
  if (bytes.size < MIN_FILE_BYTES) return false;
  const head = await bytes.read(0, LENGTH_PREFIX_BYTES + 1);
  const n = new DataView(head.buffer, head.byteOffset, head.length).getBigUint64(0, true);
  return n >= 2n && n < PLAUSIBLE_HEADER_BYTES && head[LENGTH_PREFIX_BYTES] === 0x7b;
}

/**
 * The source's files that look like safetensors (see `looksLikeSafetensors`): its one file, whatever its name;
 * of several (a directory), those named `*.safetensors` (a TF.js weight shard's first bytes could pass the sniff).
 */
async function safetensorsFiles(source: ModelSource): Promise<string[]> {
  const names = source.files.length === 1 ? source.files : source.files.filter((n) => n.endsWith('.safetensors'));
  const found: string[] = [];
  for (const name of names) if (await looksLikeSafetensors(source, name)) found.push(name);
  return found;
}

/** True when the source holds a sharded checkpoint's index, or a file that looks like safetensors. */
async function detect(source: ModelSource): Promise<boolean> {
  return source.files.some(isIndexName) || (await safetensorsFiles(source)).length > 0;
}

/** Reads the sharded checkpoint or the one file of `source` (see the file comment); `readSafetensors` says what is validated. */
async function read(source: ModelSource): Promise<ModelLayout> {
  const indexes = source.files.filter(isIndexName);
  if (indexes.length > 1) throw invalidArgument(`several sharded-checkpoint indexes (${indexes.join(', ')}): put one of them by its path`);
  if (indexes.length === 1) return { format: 'safetensors', ...(await readShardedSafetensors(source, indexes[0]!)) };
  let fileName = source.files[0]!;
  if (source.files.length > 1) {
    const found = await safetensorsFiles(source);
    if (found.length !== 1) {
      throw invalidArgument(found.length === 0
        ? `none of its ${source.files.length} files is a safetensors file`
        : `${found.length} safetensors files (${found.join(', ')}) and no *${INDEX_SUFFIX} naming each tensor's shard: put one file by its path, or add the index`);
    }
    fileName = found[0]!;
  }
  const file = await readSafetensors(await source.open(fileName));
  return {
    format: 'safetensors',
    architecture: encodeSafetensorsArchitecture(fileName, file.headerBytes),
    tensors: file.tensors,
  };
}

/**
 * Recreates the file (or the index, then every shard) under its original name, byte-identical to what `read`
 * saw. The main file is the index of a sharded checkpoint; each shard lands beside it.
 */
async function write(model: StoredModel, sink: ModelSink): Promise<void> {
  if (!isShardedArchitecture(model.architecture)) return writeFile(decodeSafetensorsArchitecture(model.architecture), model, sink);
  const { index, shards } = decodeShardedArchitecture(model.architecture);
  if (index.fileName.length === 0) throw invalidArgument('sharded safetensors architecture has an empty index file name');
  const out = await sink.create(index.fileName);
  try {
    await out.write(index.bytes);
  } finally {
    await out.close();
  }
  let first = 0;
  for (const shard of shards) {
    const n = parseSafetensorsHeader(shard.header).tensors.length;
    const at = first;
    await writeFile(shard, {
      architecture: model.architecture,
      tensorBytes: (i) => model.tensorBytes(at + i),
      ...(model.tensorPieces ? { tensorPieces: (i, o) => model.tensorPieces!(at + i, o) } : {}),
    }, sink);
    first += n;
  }
}

/**
 * Writes one safetensors file: its header, then its tensors. The file is created on the first write, after the
 * header has been validated, so a bad architecture leaves no file behind.
 */
async function writeFile(arch: SafetensorsArchitecture, model: StoredModel, sink: ModelSink): Promise<void> {
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
