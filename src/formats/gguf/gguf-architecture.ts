/**
 * The architecture blob of a GGUF model: what the store keeps besides the tensors, enough to rebuild the file
 * byte for byte. The GGUF header (magic through alignment padding) is kept verbatim, because re-serializing
 * would lose key order, odd bool bytes or padding contents; the bytes between tensors are kept too.
 *
 * Byte layout (little-endian):
 *
 *   architecture := "NSGG" | layoutVersion:u32 (1)             -- bumped whenever this layout changes
 *                   | fileNameLength:u32 | fileName:utf8
 *                   | headerLength:u64 | header:byte[headerLength] -- the file's bytes before its data region
 *                   | tensorCount:u64
 *                   | tensorCount x (ggmlType:u32 | offset:u64 | byteLength:u64)   -- header order = store order
 *                   | (tensorCount + 1) x (gapLength:u64 | gap:byte[gapLength])
 *
 * Gaps are in data order (tensors sorted by offset, ties by header order): gap k is the bytes before the k-th
 * tensor's data, the last is the tail after the final tensor. The file is rebuilt as
 * header | gap_0 | data_0 | gap_1 | data_1 ... | tail.
 */
import { invalidArgument, notSupported } from '../../errors.js';
import { ggmlTypeById, type GgmlType } from './ggml-types.js';
import { ByteBuilder } from './gguf-values.js';

const MAGIC = 'NSGG';
export const GGUF_ARCHITECTURE_VERSION = 1;

/** Where one tensor sits in the data region, and its real ggml type. */
export interface GgufTensorSlot {
  readonly type: GgmlType;
  readonly offset: number;
  readonly byteLength: number;
}

/** A decoded architecture; `header` and `gaps` are views into the blob. */
export interface GgufArchitecture {
  readonly fileName: string;
  readonly header: Uint8Array;
  readonly tensors: readonly GgufTensorSlot[];
  /** tensors.length + 1 gaps, in data order; the last is the tail. */
  readonly gaps: readonly Uint8Array[];
}

/** Encodes an architecture blob; INVALID_ARGUMENT when `gaps` is not one longer than `tensors`. */
export function encodeGgufArchitecture(arch: GgufArchitecture): Uint8Array {
  if (arch.gaps.length !== arch.tensors.length + 1) {
    throw invalidArgument(`GGUF architecture needs ${arch.tensors.length + 1} gaps, got ${arch.gaps.length}`);
  }
  const b = new ByteBuilder();
  b.bytes(Buffer.from(MAGIC, 'latin1'));
  b.u32(GGUF_ARCHITECTURE_VERSION);
  const name = Buffer.from(arch.fileName, 'utf8');
  b.u32(name.length);
  b.bytes(name);
  b.u64(arch.header.length);
  b.bytes(arch.header);
  b.u64(arch.tensors.length);
  for (const t of arch.tensors) {
    b.u32(t.type.id);
    b.u64(t.offset);
    b.u64(t.byteLength);
  }
  for (const g of arch.gaps) {
    b.u64(g.length);
    b.bytes(g);
  }
  return b.result();
}

/** Decodes a blob from `encodeGgufArchitecture`; INVALID_ARGUMENT when malformed, NOT_SUPPORTED for newer layouts. */
export function decodeGgufArchitecture(blob: Uint8Array): GgufArchitecture {
  const r = new BlobReader(blob);
  if (Buffer.from(r.take(4, 'magic')).toString('latin1') !== MAGIC) throw invalidArgument('not a GGUF architecture blob');
  const version = r.u32('layout version');
  if (version !== GGUF_ARCHITECTURE_VERSION) {
    throw notSupported(`GGUF architecture layout ${version} is not supported (this build knows ${GGUF_ARCHITECTURE_VERSION})`);
  }
  const fileName = Buffer.from(r.take(r.u32('file name length'), 'file name')).toString('utf8');
  const header = r.take(r.u64('header length'), 'header');
  const count = r.u64('tensor count');
  if (count > (blob.length - r.pos) / 20) throw invalidArgument(`GGUF architecture claims ${count} tensors, more than it holds`);
  const tensors: GgufTensorSlot[] = [];
  for (let i = 0; i < count; i++) {
    tensors.push({ type: ggmlTypeById(r.u32('tensor type')), offset: r.u64('tensor offset'), byteLength: r.u64('tensor size') });
  }
  const gaps: Uint8Array[] = [];
  for (let i = 0; i <= count; i++) gaps.push(r.take(r.u64('gap length'), 'gap'));
  if (r.pos !== blob.length) throw invalidArgument(`GGUF architecture has ${blob.length - r.pos} trailing bytes`);
  return { fileName, header, tensors, gaps };
}

class BlobReader {
  pos = 0;
  private readonly dv: DataView;
  constructor(private readonly blob: Uint8Array) {
    this.dv = new DataView(blob.buffer, blob.byteOffset, blob.length);
  }
  private at(n: number, what: string): number {
    if (n > this.blob.length - this.pos) throw invalidArgument(`GGUF architecture truncated in ${what}`);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u32(what: string): number {
    return this.dv.getUint32(this.at(4, what), true);
  }
  u64(what: string): number {
    const v = this.dv.getBigUint64(this.at(8, what), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`GGUF architecture ${what} ${v} is too large`);
    return Number(v);
  }
  take(n: number, what: string): Uint8Array {
    const p = this.at(n, what);
    return this.blob.subarray(p, p + n);
  }
}
