/**
 * Serializes HNSW graphs, brute-force id sets and shape routers to self-checking byte blobs (unlike hnswlib's
 * save format, ours carries magic, version and checksum). Vectors are never written: they stay with the
 * store, and a reopened index reads them through the accessor it is given.
 *
 * Byte layout (all integers little-endian):
 *
 *   blob    := magic:u32="NSVX" version:u16=1 kind:u8 reserved:u8=0 bodyLength:u32 body crc:u32
 *              (crc = CRC32C of every byte before it)
 *   kind 1  := space:str M:u16 efConstruction:u16 efSearch:u16 seed:u32 rngState:u32 dimension:i32
 *              count:u32 entry:i32 node{count}              (dimension -1: unset; entry -1 iff count 0)
 *   node    := id:f64 levels:u8 ( degree:u16 slot:u32{degree} ){levels}    (slot < count, not self)
 *   kind 2  := space:str dimension:i32 count:u32 id:f64{count}                       (brute force)
 *   kind 3  := space:str considerTransposed:u8 count:u32 ( key:str length:u32 blob(kind 1) ){count}
 *   kind 4, 5 := sketch index, sketch router: see sketch-index-codec.ts
 *   str     := length:u16 utf8-bytes
 *
 * A bad magic, version, kind, length, checksum, truncation or impossible value throws CORRUPTION naming
 * `name` and the offset; opening with a different space throws INVALID_ARGUMENT.
 */
import { corruption, invalidArgument, isNeurStoreError } from '../errors.js';
import type { Quant8 } from '../codecs/quant8.js';
import { BruteForceIndex } from './brute-force-index.js';
import { crc32c } from './crc32c.js';
import { HnswIndex, type HnswNode } from './hnsw-index.js';
import type { HnswParams } from './hnsw-params.js';
import { ByteReader, ByteWriter } from '../codecs/byte-io.js';
import type { Quant8Query } from './quant8-l2-space.js';
import { ShapeRouter, type ShapeRouterOptions } from './shape-router.js';
import { parseShapeKey } from './shape-table.js';
import type { VectorAccessor, VectorSpace } from './vector-space.js';

const MAGIC = 0x5856534e; // "NSVX" read as a little-endian u32
const VERSION = 1;
const HEADER_BYTES = 12;
const KIND_HNSW = 1;
const KIND_BRUTE = 2;
const KIND_ROUTER = 3;
/** Kinds of sketch-index and sketch-router blobs (layouts in sketch-index-codec.ts). */
export const KIND_SKETCH = 4;
export const KIND_SKETCH_ROUTER = 5;
const utf8 = new TextEncoder();

/** Writes a `str` (u16 length + UTF-8). */
export function str(w: ByteWriter, s: string): void {
  const b = utf8.encode(s);
  w.u16(b.length);
  w.bytes(b);
}

/** Reads a `str`; CORRUPTION if it is not UTF-8. */
export function readStr(r: ByteReader, what: string): string {
  const b = r.bytes(r.u16(`${what} length`), what);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    r.fail(`${what} is not UTF-8`);
  }
}

/** Wraps `body` in header and checksum. */
export function frame(kind: number, body: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  w.u32(MAGIC);
  w.u16(VERSION);
  w.u8(kind);
  w.u8(0);
  w.u32(body.length);
  w.bytes(body);
  w.u32(crc32c(w.finish()));
  return w.finish();
}

/** Checks the frame of `bytes` and returns a reader positioned on the body. */
export function unframe(bytes: Uint8Array, kind: number, name: string): ByteReader {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument(`${name}: expected a Uint8Array`);
  const r = new ByteReader(bytes, name, { errors: 'corruption' });
  r.check(r.u32('magic') === MAGIC, 'bad magic: not a NeurStore vector index');
  const version = r.u16('version');
  r.check(version === VERSION, `unsupported format version ${version} (this build reads ${VERSION})`);
  const k = r.u8('kind');
  r.check(k === kind, `blob holds kind ${k}, expected kind ${kind}`);
  r.u8('reserved');
  const bodyLength = r.u32('body length');
  const fits = bodyLength + HEADER_BYTES + 4 === bytes.length;
  r.check(fits, `body length ${bodyLength} does not fit a ${bytes.length}-byte blob`);
  const stored = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (crc32c(bytes.subarray(0, bytes.length - 4)) !== stored) {
    throw corruption(name, bytes.length - 4, 'checksum mismatch');
  }
  return new ByteReader(bytes, name, { start: HEADER_BYTES, end: bytes.length - 4, errors: 'corruption' });
}

function checkSpace(r: ByteReader, space: { name: string }, name: string): void {
  const stored = readStr(r, 'space name');
  if (stored !== space.name) throw invalidArgument(`${name} was built with space "${stored}", not "${space.name}"`);
}

function readId(r: ByteReader, seen: Set<number>): number {
  const id = r.f64('id');
  r.check(Number.isSafeInteger(id) && id >= 0 && !seen.has(id), `bad or duplicate id ${id}`);
  seen.add(id);
  return id;
}

/** Encodes a graph (not its vectors). */
export function serializeHnsw<V, Q>(index: HnswIndex<V, Q>, space: VectorSpace<V, Q>): Uint8Array {
  const s = index.exportState();
  const w = new ByteWriter();
  str(w, space.name);
  w.u16(s.params.M);
  w.u16(s.params.efConstruction);
  w.u16(s.params.efSearch);
  w.u32(s.params.seed);
  w.u32(s.rngState);
  w.i32(s.dimension ?? -1);
  w.u32(s.nodes.length);
  w.i32(s.entry);
  for (const n of s.nodes) {
    w.f64(n.id);
    w.u8(n.links.length);
    for (const l of n.links) {
      w.u16(l.length);
      for (const slot of l) w.u32(slot);
    }
  }
  return frame(KIND_HNSW, w.finish());
}

function readParams(r: ByteReader): HnswParams {
  const M = r.u16('M');
  const efConstruction = r.u16('efConstruction');
  const efSearch = r.u16('efSearch');
  const seed = r.u32('seed');
  r.check(M >= 2 && M <= 1024 && efConstruction >= 1 && efSearch >= 1, 'impossible HNSW parameters');
  return { M, efConstruction, efSearch, seed };
}

function readNode(r: ByteReader, count: number, slot: number, seen: Set<number>): HnswNode {
  const id = readId(r, seen);
  const levels = r.u8('levels');
  r.check(levels >= 1, `node ${id} has no levels`);
  const links: number[][] = [];
  for (let l = 0; l < levels; l++) {
    const degree = r.u16('degree');
    r.check(degree <= r.remaining / 4, `degree ${degree} runs past the end`);
    const list: number[] = [];
    for (let i = 0; i < degree; i++) {
      const to = r.u32('link');
      r.check(to < count && to !== slot, `link ${to} of node ${id} is out of range`);
      list.push(to);
    }
    links.push(list);
  }
  return { id, links };
}

/** Decodes `serializeHnsw` output; `name` labels errors. The index reads vectors through `accessor`. */
export function deserializeHnsw<V, Q>(
  bytes: Uint8Array,
  space: VectorSpace<V, Q>,
  accessor: VectorAccessor<V>,
  name = 'hnsw index',
): HnswIndex<V, Q> {
  const r = unframe(bytes, KIND_HNSW, name);
  checkSpace(r, space, name);
  const params = readParams(r);
  const rngState = r.u32('rng state');
  const dim = r.i32('dimension');
  r.check(dim >= -1, `bad dimension ${dim}`);
  const count = r.u32('count');
  r.check(count <= r.remaining / 10, `node count ${count} runs past the end`);
  const entry = r.i32('entry');
  r.check(count === 0 ? entry === -1 : entry >= 0 && entry < count, `bad entry point ${entry}`);
  const seen = new Set<number>();
  const nodes = Array.from({ length: count }, (_, slot) => readNode(r, count, slot, seen));
  r.check(r.remaining === 0, `${r.remaining} unexpected bytes after the last node`);
  const maxLevel = nodes.reduce((m, n) => Math.max(m, n.links.length), 0);
  r.check(count === 0 || nodes[entry]!.links.length === maxLevel, 'entry point is not on the top level');
  for (const n of nodes) {
    n.links.forEach((l, lv) => {
      r.check(l.every((s) => nodes[s]!.links.length > lv), `node ${n.id} links to a node below level ${lv}`);
    });
  }
  const dimension = dim < 0 ? undefined : dim;
  return HnswIndex.fromState(space, accessor, { params, dimension, rngState, entry, nodes });
}

/** Encodes a brute-force index (its ids). */
export function serializeBruteForce<V, Q>(index: BruteForceIndex<V, Q>, space: VectorSpace<V, Q>): Uint8Array {
  const w = new ByteWriter();
  str(w, space.name);
  w.i32(index.dimension ?? -1);
  const ids = index.ids();
  w.u32(ids.length);
  for (const id of ids) w.f64(id);
  return frame(KIND_BRUTE, w.finish());
}

/** Decodes `serializeBruteForce` output; vectors are read through `accessor` (only on search). */
export function deserializeBruteForce<V, Q>(
  bytes: Uint8Array,
  space: VectorSpace<V, Q>,
  accessor: VectorAccessor<V>,
  name = 'brute-force index',
): BruteForceIndex<V, Q> {
  const r = unframe(bytes, KIND_BRUTE, name);
  checkSpace(r, space, name);
  const dim = r.i32('dimension');
  const count = r.u32('count');
  r.check(dim >= -1 && (count === 0) === (dim === -1), `bad dimension ${dim} for ${count} ids`);
  r.check(count * 8 === r.remaining, `id count ${count} does not match the body`);
  const seen = new Set<number>();
  const ids = Array.from({ length: count }, () => readId(r, seen));
  return BruteForceIndex.fromIds(space, accessor, ids, dim < 0 ? undefined : dim);
}

/** Encodes a router: its options and every per-shape graph. */
export function serializeRouter(router: ShapeRouter): Uint8Array {
  const w = new ByteWriter();
  str(w, router.space.name);
  w.u8(router.considerTransposed ? 1 : 0);
  const keys = router.shapeKeys();
  w.u32(keys.length);
  for (const key of keys) {
    str(w, key);
    const blob = serializeHnsw(router.indexFor(key)!, router.space);
    w.u32(blob.length);
    w.bytes(blob);
  }
  return frame(KIND_ROUTER, w.finish());
}

/** Decodes `serializeRouter` output; `options.hnsw` applies to shapes created after reopening. */
export function deserializeRouter(
  bytes: Uint8Array,
  space: VectorSpace<Quant8, Quant8Query>,
  accessor: VectorAccessor<Quant8>,
  options: Pick<ShapeRouterOptions, 'hnsw'> = {},
  name = 'shape router',
): ShapeRouter {
  const r = unframe(bytes, KIND_ROUTER, name);
  checkSpace(r, space, name);
  const flag = r.u8('considerTransposed');
  r.check(flag <= 1, `bad flag ${flag}`);
  const router = new ShapeRouter(space, accessor, { ...options, considerTransposed: flag === 1 });
  const count = r.u32('shape count');
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const key = readStr(r, 'shape key');
    const blob = r.bytes(r.u32('index length'), `index of shape ${key}`);
    try {
      parseShapeKey(key);
      router.adopt(key, deserializeHnsw(blob, space, accessor, `${name} shape ${key}`));
    } catch (e) {
      if (isNeurStoreError(e, 'CORRUPTION')) throw e;
      throw corruption(name, at, `shape entry "${key}": ${(e as Error).message}`);
    }
  }
  r.check(r.remaining === 0, `${r.remaining} unexpected bytes after the last shape`);
  return router;
}
