/**
 * The architecture of a TF.js model as the store keeps it: the JSON file verbatim, plus the shard names and
 * sizes and where each manifest weight sits in its group, so `write` can rebuild every file byte for byte
 * without re-deriving the layout. String weights, which are not tensors, keep their bytes inline.
 *
 * Byte layout (all integers little-endian; u64 values never exceed 2^53):
 *
 *   architecture := magic:"NSTFJS" version:u8(=1) kind:u8 jsonFile:str json:blob
 *                   groupCount:u32 group{groupCount} entryCount:u32 entry{entryCount}
 *   kind         := 0 (model.json object) | 1 (bare weights-manifest array)
 *   group        := shardCount:u32 (file:str size:u64){shardCount}
 *   entry        := groupIndex:u32 offset:u64 byteLength:u64 tag:u8 body
 *   body         := tensorIndex:u32 (tag 0) | bytes:blob (tag 1: inline string weight)
 *   str          := blob holding UTF-8
 *   blob         := length:u32 byte{length}
 *
 * Entries appear in manifest order; within a group their offsets are contiguous from 0 and end at the sum
 * of the group's shard sizes.
 */
import { invalidArgument } from '../../errors.js';
import type { TfjsJsonKind } from './tfjs-manifest.js';

export const TFJS_ARCH_MAGIC = 'NSTFJS';
export const TFJS_ARCH_VERSION = 1;

export interface ShardInfo {
  /** File name in the model source / sink. */
  readonly file: string;
  readonly size: number;
}

/** A manifest weight's place in its group: a tensor of the layout, or inline bytes (string weights). */
export type ArchEntry =
  | { readonly group: number; readonly offset: number; readonly byteLength: number; readonly tensor: number }
  | { readonly group: number; readonly offset: number; readonly byteLength: number; readonly inline: Uint8Array };

export interface TfjsArchitecture {
  readonly kind: TfjsJsonKind;
  readonly jsonFile: string;
  readonly json: Uint8Array;
  readonly groups: readonly (readonly ShardInfo[])[];
  readonly entries: readonly ArchEntry[];
}

class ByteWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly scratch = new DataView(new ArrayBuffer(8));

  u8(v: number): void {
    this.chunks.push(Uint8Array.of(v));
  }
  u32(v: number): void {
    this.scratch.setUint32(0, v, true);
    this.chunks.push(new Uint8Array(this.scratch.buffer.slice(0, 4)));
  }
  u64(v: number): void {
    this.scratch.setBigUint64(0, BigInt(v), true);
    this.chunks.push(new Uint8Array(this.scratch.buffer.slice(0, 8)));
  }
  blob(b: Uint8Array): void {
    this.u32(b.length);
    this.chunks.push(b);
  }
  str(s: string): void {
    this.blob(new TextEncoder().encode(s));
  }
  /** A plain Uint8Array (not a Buffer, whose `slice` would alias). */
  bytes(): Uint8Array {
    const b = Buffer.concat(this.chunks);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
}

class ByteReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): number {
    if (this.pos + n > this.buf.length) throw bad(`truncated at byte ${this.pos}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  u64(): number {
    const at = this.need(8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`value at byte ${at} is too large`);
    return Number(v);
  }
  blob(): Uint8Array {
    const n = this.u32();
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  str(): string {
    return new TextDecoder().decode(this.blob());
  }
  atEnd(): boolean {
    return this.pos === this.buf.length;
  }
}

function bad(msg: string): Error {
  return invalidArgument(`not a TF.js architecture: ${msg}`);
}

/** Serializes an architecture (see the grammar above). The caller keeps ownership of `arch`. */
export function encodeTfjsArchitecture(arch: TfjsArchitecture): Uint8Array {
  const w = new ByteWriter();
  for (const c of new TextEncoder().encode(TFJS_ARCH_MAGIC)) w.u8(c);
  w.u8(TFJS_ARCH_VERSION);
  w.u8(arch.kind === 'model' ? 0 : 1);
  w.str(arch.jsonFile);
  w.blob(arch.json);
  w.u32(arch.groups.length);
  for (const shards of arch.groups) {
    w.u32(shards.length);
    for (const s of shards) {
      w.str(s.file);
      w.u64(s.size);
    }
  }
  w.u32(arch.entries.length);
  for (const e of arch.entries) {
    w.u32(e.group);
    w.u64(e.offset);
    w.u64(e.byteLength);
    if ('tensor' in e) {
      w.u8(0);
      w.u32(e.tensor);
    } else {
      w.u8(1);
      w.blob(e.inline);
    }
  }
  return w.bytes();
}

/**
 * Parses an architecture written by `encodeTfjsArchitecture` and checks it is self-consistent (groups
 * exist, entries contiguous and filling their shards). INVALID_ARGUMENT on any mismatch. The result's byte
 * arrays are views into `bytes`.
 */
export function decodeTfjsArchitecture(bytes: Uint8Array): TfjsArchitecture {
  const r = new ByteReader(bytes);
  const magic = String.fromCharCode(...Array.from({ length: TFJS_ARCH_MAGIC.length }, () => r.u8()));
  if (magic !== TFJS_ARCH_MAGIC) throw bad('bad magic');
  const version = r.u8();
  if (version !== TFJS_ARCH_VERSION) throw bad(`unsupported version ${version}`);
  const kindCode = r.u8();
  if (kindCode > 1) throw bad(`bad kind ${kindCode}`);
  const jsonFile = r.str();
  const json = r.blob();
  const groups: ShardInfo[][] = [];
  for (let g = r.u32(); g > 0; g--) {
    const shards: ShardInfo[] = [];
    for (let s = r.u32(); s > 0; s--) shards.push({ file: r.str(), size: r.u64() });
    groups.push(shards);
  }
  const entries: ArchEntry[] = [];
  for (let n = r.u32(); n > 0; n--) entries.push(readEntry(r));
  if (!r.atEnd()) throw bad('trailing bytes');
  const arch: TfjsArchitecture = { kind: kindCode === 0 ? 'model' : 'weights', jsonFile, json, groups, entries };
  checkLayout(arch);
  return arch;
}

function readEntry(r: ByteReader): ArchEntry {
  const group = r.u32();
  const offset = r.u64();
  const byteLength = r.u64();
  const tag = r.u8();
  if (tag === 0) return { group, offset, byteLength, tensor: r.u32() };
  if (tag !== 1) throw bad(`bad entry tag ${tag}`);
  const inline = r.blob();
  if (inline.length !== byteLength) throw bad('inline entry length disagrees with its bytes');
  return { group, offset, byteLength, inline };
}

function checkLayout(arch: TfjsArchitecture): void {
  const ends = arch.groups.map(() => 0);
  for (const e of arch.entries) {
    if (e.group >= arch.groups.length) throw bad(`entry names group ${e.group} of ${arch.groups.length}`);
    if (e.offset !== ends[e.group]) throw bad(`entries of group ${e.group} are not contiguous at ${e.offset}`);
    ends[e.group] += e.byteLength;
  }
  arch.groups.forEach((shards, g) => {
    const total = shards.reduce((sum, s) => sum + s.size, 0);
    if (total !== ends[g]) throw bad(`group ${g} entries hold ${ends[g]} bytes but its shards ${total}`);
  });
}
