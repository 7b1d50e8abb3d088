/**
 * Parses the header of a GGUF file (v2/v3, little-endian): everything before the tensor data, never the data.
 *
 * File grammar (little-endian; `string := len:u64 | utf8`; values as in `gguf-values.ts`):
 *   file        := "GGUF" | version:u32 (2|3) | tensorCount:u64 | kvCount:u64
 *                  | kvCount x (key:string | type:u32 | value)
 *                  | tensorCount x (name:string | nDims:u32 (<=4) | nDims x ne:u64 | ggmlType:u32 | offset:u64)
 *                  | zero padding to general.alignment (u32, default 32)
 *                  | tensor data: each tensor at dataStart + offset (offset a multiple of the alignment)
 * Every claim the header makes is checked against the file's real size and against itself (duplicate names,
 * overlap, misalignment), so a malformed file fails with INVALID_ARGUMENT naming the problem.
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';
import { GgufCursor } from './gguf-cursor.js';
import { readString, readValue, valueTypeById, type GgufValue } from './gguf-values.js';
import { ggmlByteLength, ggmlTypeById, type GgmlType } from './ggml-types.js';

export const GGUF_MAGIC = Uint8Array.of(0x47, 0x47, 0x55, 0x46); // "GGUF"
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;

/** One tensor as the header describes it. `ne` is in ggml order (fastest-varying dimension first). */
export interface GgufTensorInfo {
  readonly name: string;
  readonly ne: readonly number[];
  readonly type: GgmlType;
  /** Offset of the tensor's bytes from the start of the data region. */
  readonly offset: number;
  readonly byteLength: number;
}

/** A parsed GGUF header. `metadata` keeps the file's key order. */
export interface GgufHeader {
  readonly version: 2 | 3;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute offset where the data region starts (end of the tensor infos, padded to the alignment). */
  readonly dataStart: number;
  /** The file's bytes [0, min(dataStart, size)): magic through alignment padding, verbatim. */
  readonly headerBytes: Uint8Array;
}

const MIN_KV_BYTES = 8 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;

/** Reads and checks a GGUF header; INVALID_ARGUMENT naming the problem when the file is not a valid GGUF. */
export async function readGgufHeader(source: ByteSource): Promise<GgufHeader> {
  const c = new GgufCursor(source);
  const version = await c.run(() => readPreamble(c));
  const tensorCount = await c.run(() => c.count('tensor count', Math.floor((c.remaining - 16) / MIN_TENSOR_INFO_BYTES)));
  const kvCount = await c.run(() => c.count('metadata count', Math.floor((c.remaining - 8) / MIN_KV_BYTES)));
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const [key, value] = await c.run(() => readKv(c, i));
    if (metadata.has(key)) throw invalidArgument(`duplicate GGUF metadata key '${key}'`);
    metadata.set(key, value);
  }
  const infos: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) infos.push(await c.run(() => readTensorInfo(c, i)));
  const alignment = alignmentOf(metadata);
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  const headerEnd = Math.min(dataStart, c.size);
  await c.run(() => c.need(headerEnd - c.pos, 'alignment padding'));
  checkLayout(infos, alignment, c.size - dataStart);
  return { version, metadata, tensors: infos, alignment, dataStart, headerBytes: c.head(headerEnd) };
}

/** True when the bytes start with the GGUF magic. */
export function hasGgufMagic(head: Uint8Array): boolean {
  return head.length >= 4 && GGUF_MAGIC.every((b, i) => head[i] === b);
}

function readPreamble(c: GgufCursor): 2 | 3 {
  if (c.size < 4 || !hasGgufMagic(c.bytes(4, 'magic'))) throw invalidArgument('not a GGUF file: missing magic "GGUF"');
  const version = c.u32('version');
  if (version === 2 || version === 3) return version;
  const swapped = ((version & 0xff) << 24) | ((version & 0xff00) << 8) | ((version >>> 8) & 0xff00) | (version >>> 24);
  if (swapped === 2 || swapped === 3) throw invalidArgument(`big-endian GGUF (version ${swapped}) is not supported`);
  if (version === 1) throw invalidArgument('GGUF version 1 (32-bit lengths) is not supported; convert to v3');
  throw invalidArgument(`unknown GGUF version ${version} (supported: 2, 3)`);
}

function readKv(c: GgufCursor, i: number): [string, GgufValue] {
  const key = readString(c, `metadata key #${i}`);
  const type = valueTypeById(c.u32(`type of '${key}'`), `metadata '${key}'`);
  return [key, readValue(c, type, `metadata '${key}'`)];
}

function readTensorInfo(c: GgufCursor, i: number): GgufTensorInfo {
  const name = readString(c, `name of tensor #${i}`);
  const nDims = c.u32(`n_dims of tensor '${name}'`);
  if (nDims > GGUF_MAX_DIMS) throw invalidArgument(`tensor '${name}' has ${nDims} dimensions (at most ${GGUF_MAX_DIMS})`);
  const ne: number[] = [];
  for (let d = 0; d < nDims; d++) ne.push(c.count(`dimension ${d} of tensor '${name}'`, Number.MAX_SAFE_INTEGER));
  const type = ggmlTypeById(c.u32(`type of tensor '${name}'`), name);
  const offset = c.count(`offset of tensor '${name}'`, Number.MAX_SAFE_INTEGER);
  return { name, ne, type, offset, byteLength: ggmlByteLength(type, ne, name) };
}

function alignmentOf(metadata: ReadonlyMap<string, GgufValue>): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'UINT32') throw invalidArgument(`general.alignment must be a UINT32, found ${v.type}`);
  if (v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw invalidArgument(`general.alignment ${v.value} is not a power of two`);
  }
  return v.value;
}

/** Names unique; every tensor aligned, inside the data region, and disjoint from the others. */
function checkLayout(infos: readonly GgufTensorInfo[], alignment: number, dataBytes: number): void {
  const names = new Set<string>();
  for (const t of infos) {
    if (names.has(t.name)) throw invalidArgument(`duplicate GGUF tensor name '${t.name}'`);
    names.add(t.name);
    if (t.offset % alignment !== 0) {
      throw invalidArgument(`tensor '${t.name}' offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    }
    if (t.offset + t.byteLength > Math.max(0, dataBytes)) {
      throw invalidArgument(`tensor '${t.name}' (${t.byteLength} bytes at data offset ${t.offset}) runs past the end of the file`);
    }
  }
  let prev: GgufTensorInfo | undefined;
  for (const t of dataOrder(infos)) {
    if (t.byteLength === 0) continue;
    if (prev && prev.offset + prev.byteLength > t.offset) {
      throw invalidArgument(`tensors '${prev.name}' and '${t.name}' overlap in the data region`);
    }
    prev = t;
  }
}

/** The tensors sorted by data offset (ties by header order): the order their bytes sit in the file. */
export function dataOrder<T extends { offset: number }>(infos: readonly T[]): T[] {
  return infos.map((t, i) => ({ t, i })).sort((a, b) => a.t.offset - b.t.offset || a.i - b.i).map((x) => x.t);
}
