// Index blobs: round trips give identical results; truncation, flipped bytes and structural damage are caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantize8, type Quant8 } from '../codecs/quant8.js';
import { isNeurStoreError } from '../errors.js';
import { BruteForceIndex } from './brute-force-index.js';
import { crc32c } from './crc32c.js';
import { HnswIndex } from './hnsw-index.js';
import { hnswParamsFor } from './hnsw-params.js';
import {
  deserializeBruteForce,
  deserializeHnsw,
  deserializeRouter,
  serializeBruteForce,
  serializeHnsw,
  serializeRouter,
} from './index-codec.js';
import { Quant8L2Space, type Quant8Query } from './quant8-l2-space.js';
import { SeededRandom } from '../env/seeded-random.js';
import { ShapeRouter } from './shape-router.js';
import type { VectorSpace } from './vector-space.js';

const space = new Quant8L2Space();

function vectors(seed: number, count: number, dim: number): Quant8[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: count }, () => quantize8(Float32Array.from({ length: dim }, () => rng.gaussian())));
}

const data = vectors(1, 120, 48);
const get = (id: number) => data[id]!;

function graph(): HnswIndex<Quant8, Quant8Query> {
  const ix = new HnswIndex<Quant8, Quant8Query>(space, get, hnswParamsFor(48, { seed: 9, M: 5 }));
  data.slice(0, 100).forEach((v, id) => ix.insert(id, v));
  for (const id of [3, 50, 77]) ix.remove(id);
  return ix;
}

/** The graph as id -> per-level sorted neighbour ids, independent of slot numbering. */
function byIds(ix: HnswIndex<Quant8, Quant8Query>): Map<number, number[][]> {
  const s = ix.exportState();
  return new Map(s.nodes.map((n) => [n.id, n.links.map((l) => l.map((x) => s.nodes[x]!.id).sort((p, q) => p - q))]));
}

/** Rewrites the trailing checksum so a deliberate edit is caught by the structural checks, not the CRC. */
function reseal(blob: Uint8Array): Uint8Array {
  const b = blob.slice();
  new DataView(b.buffer).setUint32(b.length - 4, crc32c(b.subarray(0, b.length - 4)), true);
  return b;
}

const isCorruption = (e: unknown) => isNeurStoreError(e, 'CORRUPTION');

test('crc32c check value', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('HNSW round trip: identical state, identical search results, identical later inserts', () => {
  const a = graph();
  const blob = serializeHnsw(a, space);
  const b = deserializeHnsw(blob, space, get);
  assert.deepEqual(b.exportState(), a.exportState());
  assert.deepEqual(serializeHnsw(b, space), blob);
  for (const q of vectors(2, 30, 48)) {
    assert.deepEqual(b.search(q, 10), a.search(q, 10));
    assert.deepEqual(b.search(q, 3, 5), a.search(q, 3, 5));
  }
  // The original reuses freed slots and the reopened one is compacted, so compare graphs by ids.
  data.slice(100).forEach((v, i) => (a.insert(100 + i, v), b.insert(100 + i, v)));
  assert.deepEqual(byIds(b), byIds(a));
  const empty = new HnswIndex<Quant8, Quant8Query>(space, get, hnswParamsFor(48));
  const e2 = deserializeHnsw(serializeHnsw(empty, space), space, get);
  assert.equal(e2.size, 0);
  assert.equal(e2.dimension, undefined);
  assert.deepEqual(e2.search(data[0]!, 1), []);
});

test('brute-force round trip', () => {
  const a = new BruteForceIndex<Quant8, Quant8Query>(space, get);
  data.forEach((v, id) => id % 3 && a.insert(id, v));
  const b = deserializeBruteForce(serializeBruteForce(a, space), space, get);
  assert.deepEqual(b.ids(), a.ids());
  assert.equal(b.dimension, 48);
  for (const q of vectors(5, 10, 48)) assert.deepEqual(b.search(q, 5), a.search(q, 5));
});

test('router round trip keeps shapes, transposed routing and results', () => {
  const rng = new SeededRandom(4);
  const shapes = [[6, 8], [8, 6], [48], [2, 3, 8]];
  const vs: Quant8[] = [];
  const router = new ShapeRouter(space, (id) => vs[id]!, { hnsw: { seed: 1 } });
  for (let id = 0; id < 80; id++) {
    const shape = shapes[id % shapes.length]!;
    vs.push(quantize8(Float32Array.from({ length: 48 }, () => rng.gaussian())));
    router.insert(id, shape, vs[id]!);
  }
  router.remove(5);
  const blob = serializeRouter(router);
  const back = deserializeRouter(blob, space, (id) => vs[id]!);
  assert.deepEqual(back.shapeKeys(), router.shapeKeys());
  assert.equal(back.size, router.size);
  assert.equal(back.has(5), false);
  for (let i = 0; i < 20; i++) {
    const shape = shapes[i % shapes.length]!;
    const q = Float32Array.from({ length: 48 }, () => rng.gaussian());
    assert.deepEqual(back.search(shape, q, 4), router.search(shape, q, 4));
  }
  assert.deepEqual(serializeRouter(back), blob);
});

test('every truncation and every flipped byte is CORRUPTION', () => {
  const blob = serializeHnsw(graph(), space);
  for (let n = 0; n < blob.length; n++) assert.throws(() => deserializeHnsw(blob.subarray(0, n), space, get), isCorruption, `length ${n}`);
  for (let i = 0; i < blob.length; i += 7) {
    const bad = blob.slice();
    bad[i] = bad[i]! ^ 0x40;
    assert.throws(() => deserializeHnsw(bad, space, get), isCorruption, `flip at ${i}`);
  }
  const longer = new Uint8Array(blob.length + 1);
  longer.set(blob);
  assert.throws(() => deserializeHnsw(longer, space, get), isCorruption);
  const router = serializeRouter(new ShapeRouter(space, get));
  for (let n = 0; n < router.length; n++) assert.throws(() => deserializeRouter(router.subarray(0, n), space, get), isCorruption);
});

test('structural damage under a valid checksum is CORRUPTION with a reason', () => {
  const blob = serializeHnsw(graph(), space);
  const expectMsg = (b: Uint8Array, re: RegExp) =>
    assert.throws(() => deserializeHnsw(reseal(b), space, get), (e) => isCorruption(e) && re.test((e as Error).message));
  const v2 = blob.slice();
  v2[4] = 2;
  expectMsg(v2, /version 2/);
  const magic = blob.slice();
  magic[0] = 0;
  expectMsg(magic, /magic/);
  const kind = blob.slice();
  kind[6] = 2;
  expectMsg(kind, /kind 2/);
  // Body: space name (2 + 10 bytes), params 14 bytes, dimension 4, count 4, entry 4, then the first node.
  const body = 12;
  const entry = blob.slice();
  new DataView(entry.buffer).setInt32(body + 12 + 14 + 8, 5000, true);
  expectMsg(entry, /entry point/);
  const link = blob.slice();
  new DataView(link.buffer).setUint32(body + 12 + 14 + 12 + 8 + 1 + 2, 99999, true);
  expectMsg(link, /out of range/);
  const zeroM = blob.slice();
  new DataView(zeroM.buffer).setUint16(body + 12, 0, true);
  expectMsg(zeroM, /parameters/);
  assert.throws(() => deserializeBruteForce(blob, space, get), (e) => isCorruption(e) && /kind 1/.test((e as Error).message));
});

test('opening with another space or a non-byte value is INVALID_ARGUMENT', () => {
  const blob = serializeHnsw(graph(), space);
  const other: VectorSpace<Quant8, Quant8Query> = Object.assign(new Quant8L2Space(), { name: 'quant8-cosine' });
  const wrongSpace = (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /quant8-l2/.test((e as Error).message);
  assert.throws(() => deserializeHnsw(blob, other, get), wrongSpace);
  assert.throws(() => deserializeHnsw('x' as unknown as Uint8Array, space, get), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});
