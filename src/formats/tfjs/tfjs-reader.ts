/**
 * Reads a TF.js model (model.json or bare weights manifest, plus its shards) into a `ModelLayout`.
 *
 * Only the JSON is read up front (and the few bytes of string weights); every tensor's `read()` fetches its
 * bytes from the shards when asked. A manifest group's weights are laid out back to back across the group's
 * shards concatenated, so a tensor may straddle a shard boundary; `GroupBytes` hides that.
 */
import { posix } from 'node:path';
import { NeurStoreError, invalidArgument } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';
import type { ModelLayout, ModelSource, TensorEntry } from '../model-format.js';
import type { ArchEntry, ShardInfo } from './tfjs-architecture.js';
import { encodeTfjsArchitecture } from './tfjs-architecture.js';
import { findTfjsJson } from './tfjs-json-finder.js';
import type { ManifestGroup, ManifestWeight } from './tfjs-manifest.js';
import { parseTfjsManifest } from './tfjs-manifest.js';

/** The shards of one manifest group seen as one byte range. */
class GroupBytes {
  readonly size: number;
  private readonly starts: number[] = [];

  constructor(
    readonly shards: readonly { readonly info: ShardInfo; readonly src: ByteSource }[],
  ) {
    let at = 0;
    for (const s of shards) {
      this.starts.push(at);
      at += s.info.size;
    }
    this.size = at;
  }

  /** Exactly `length` bytes at `offset` of the concatenated shards; the caller checked the range. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < this.shards.length && length > 0; i++) {
      const start = this.starts[i];
      const end = start + this.shards[i].info.size;
      if (offset >= end) continue;
      const n = Math.min(length, end - offset);
      parts.push(await this.shards[i].src.read(offset - start, n));
      offset += n;
      length -= n;
    }
    if (parts.length === 1) return parts[0];
    const joined = Buffer.concat(parts);
    return new Uint8Array(joined.buffer, joined.byteOffset, joined.length);
  }
}

/** The source file a manifest path names: paths are relative to the JSON file's folder. */
function resolveShard(jsonFile: string, path: string): string {
  const dir = posix.dirname(jsonFile);
  const joined = posix.normalize(dir === '.' ? path : posix.join(dir, path));
  return joined.startsWith('./') ? joined.slice(2) : joined;
}

/** Opens a shard; a shard that is not there is bad input (INVALID_ARGUMENT), not a missing store object. */
async function openShard(source: ModelSource, file: string, where: string): Promise<ByteSource> {
  try {
    return await source.open(file);
  } catch (e) {
    if (e instanceof NeurStoreError && e.code === 'NOT_FOUND') throw invalidArgument(`${where} is missing from the model's files`, e);
    throw e;
  }
}

/** Opens a group's shards; `used` (the JSON file and earlier shards) catches a file named twice. */
async function openGroup(
  source: ModelSource,
  jsonFile: string,
  group: ManifestGroup,
  g: number,
  used: Set<string>,
): Promise<GroupBytes> {
  const shards = [];
  for (const [i, path] of group.paths.entries()) {
    const file = resolveShard(jsonFile, path);
    const where = `${jsonFile}: shard '${path}' (weightsManifest[${g}].paths[${i}])`;
    if (used.has(file)) throw invalidArgument(`${where} names a file the model already uses`);
    used.add(file);
    const src = await openShard(source, file, where);
    shards.push({ info: { file, size: src.size }, src });
  }
  return new GroupBytes(shards);
}

const STRING_WINDOW_BYTES = 1 << 16;

/** Bytes of a string weight: per element a u32 length and that many bytes. Reads in windows, not per element. */
async function stringBytes(bytes: GroupBytes, offset: number, w: ManifestWeight, where: string): Promise<Uint8Array> {
  if (offset + 4 * w.elements > bytes.size) throw pastEnd(where, offset + 4 * w.elements, bytes.size);
  let window: Uint8Array = new Uint8Array(0);
  let windowStart = offset;
  let at = offset;
  for (let i = 0; i < w.elements; i++) {
    if (at + 4 > bytes.size) throw pastEnd(where, at + 4, bytes.size);
    if (at + 4 > windowStart + window.length) {
      windowStart = at;
      window = await bytes.read(at, Math.min(STRING_WINDOW_BYTES, bytes.size - at));
    }
    const k = at - windowStart;
    const len = (window[k] | (window[k + 1] << 8) | (window[k + 2] << 16)) + window[k + 3] * 2 ** 24;
    at += 4 + len;
    if (at > bytes.size) throw pastEnd(where, at, bytes.size);
  }
  return new Uint8Array(await bytes.read(offset, at - offset));
}

function pastEnd(where: string, end: number, size: number): Error {
  return invalidArgument(`${where} ends at byte ${end}, past the end of its shards (${size} bytes)`);
}

/** A name not yet taken: repeated manifest names get a `~k` suffix so tensor names stay unique. */
function uniqueName(name: string, taken: Set<string>): string {
  let out = name;
  for (let k = 1; taken.has(out); k++) out = `${name}~${k}`;
  taken.add(out);
  return out;
}

/** What the reader accumulates over the groups. */
interface ReadState {
  readonly jsonFile: string;
  readonly taken: Set<string>;
  readonly entries: ArchEntry[];
  readonly tensors: TensorEntry[];
}

/** Lays out group `g`'s weights over its bytes, appending to `state`. */
async function readGroup(group: ManifestGroup, bytes: GroupBytes, g: number, state: ReadState): Promise<void> {
  const { jsonFile, taken, entries, tensors } = state;
  let offset = 0;
  for (const [i, w] of group.weights.entries()) {
    const where = `${jsonFile}: weight '${w.name}' (weightsManifest[${g}].weights[${i}])`;
    if (w.byteLength === undefined) {
      const inline = await stringBytes(bytes, offset, w, where);
      entries.push({ group: g, offset, byteLength: inline.length, inline });
      offset += inline.length;
      continue;
    }
    const at = offset;
    const byteLength = w.byteLength;
    if (at + byteLength > bytes.size) throw pastEnd(where, at + byteLength, bytes.size);
    entries.push({ group: g, offset: at, byteLength, tensor: tensors.length });
    tensors.push({
      name: uniqueName(w.name, taken),
      dtype: w.dtype,
      shape: w.shape,
      byteLength,
      read: () => bytes.read(at, byteLength),
      readRange: (from: number, length: number) => bytes.read(at + from, length),
    });
    offset += byteLength;
  }
  if (offset !== bytes.size) {
    const files = bytes.shards.map((s) => s.info.file).join(', ');
    throw invalidArgument(
      `${jsonFile}: weightsManifest[${g}] describes ${offset} bytes but its shards (${files}) hold ${bytes.size}`,
    );
  }
}

/**
 * Splits a TF.js model into architecture and lazily read tensors. Throws INVALID_ARGUMENT naming the
 * problem for bad JSON, unknown dtypes, bad shapes, missing shards, or shards whose sizes disagree with
 * the manifest.
 */
export async function readTfjs(source: ModelSource): Promise<ModelLayout> {
  const found = await findTfjsJson(source);
  const manifest = parseTfjsManifest(found.json, found.file);
  const state: ReadState = { jsonFile: found.file, taken: new Set(), entries: [], tensors: [] };
  const groups: ShardInfo[][] = [];
  const used = new Set([found.file]);
  for (const [g, group] of manifest.groups.entries()) {
    const bytes = await openGroup(source, found.file, group, g, used);
    await readGroup(group, bytes, g, state);
    groups.push(bytes.shards.map((s) => s.info));
  }
  const { kind, file: jsonFile, bytes: json } = found;
  const architecture = encodeTfjsArchitecture({ kind, jsonFile, json, groups, entries: state.entries });
  return { format: 'tfjs', architecture, tensors: state.tensors };
}
