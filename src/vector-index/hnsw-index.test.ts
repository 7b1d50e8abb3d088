// HNSW against the brute-force oracle on seeded synthetic tensors: recall, determinism, removal, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantize8, dequantize8, type Quant8 } from '../codecs/quant8.js';
import { isNeurStoreError } from '../errors.js';
import { BruteForceIndex } from './brute-force-index.js';
import { HnswIndex } from './hnsw-index.js';
import { hnswParamsFor } from './hnsw-params.js';
import { Quant8L2Space, type Quant8Query } from './quant8-l2-space.js';
import { SeededRandom } from '../env/seeded-random.js';

/** Clustered synthetic tensors: `clusters` centres, each with `perCluster` noisy members. */
function syntheticFamily(seed: number, clusters: number, perCluster: number, dim: number): Float32Array[] {
  const rng = new SeededRandom(seed);
  const out: Float32Array[] = [];
  for (let c = 0; c < clusters; c++) {
    const centre = Float32Array.from({ length: dim }, () => rng.gaussian());
    for (let m = 0; m < perCluster; m++) out.push(centre.map((v) => v + 0.3 * rng.gaussian()));
  }
  return out;
}

function perturb(x: Float32Array, rng: SeededRandom, amount: number): Float32Array {
  return x.map((v) => v + amount * rng.gaussian());
}

function build(vectors: Quant8[], seed = 7, M?: number) {
  const space = new Quant8L2Space();
  const get = (id: number) => vectors[id]!;
  const params = hnswParamsFor(vectors[0]!.codes.length, { seed, M });
  const hnsw = new HnswIndex<Quant8, Quant8Query>(space, get, params);
  const brute = new BruteForceIndex<Quant8, Quant8Query>(space, get);
  vectors.forEach((v, id) => {
    hnsw.insert(id, v);
    brute.insert(id, v);
  });
  return { hnsw, brute };
}

function recall(hnsw: HnswIndex<Quant8, Quant8Query>, brute: BruteForceIndex<Quant8, Quant8Query>, queries: Quant8Query[], k: number): number {
  let hit = 0;
  for (const q of queries) {
    const truth = new Set(brute.search(q, k).map((h) => h.id));
    for (const h of hnsw.search(q, k)) if (truth.has(h.id)) hit++;
  }
  return hit / (queries.length * k);
}

test('Quant8L2Space matches squared L2 of dequantized arrays', () => {
  const rng = new SeededRandom(3);
  const space = new Quant8L2Space();
  for (let t = 0; t < 20; t++) {
    const n = 1 + Math.floor(rng.next() * 300);
    const a = Float32Array.from({ length: n }, () => rng.gaussian() * 2);
    const b = Float32Array.from({ length: n }, () => rng.gaussian() + 0.5);
    const qa = quantize8(a);
    const qb = quantize8(b);
    const da = dequantize8(qa);
    const db = dequantize8(qb);
    let ref = 0;
    let refQ = 0;
    for (let i = 0; i < n; i++) {
      ref += (da[i]! - db[i]!) ** 2;
      refQ += (a[i]! - db[i]!) ** 2;
    }
    assert.ok(Math.abs(space.distance(qa, qb) - ref) <= 1e-5 * ref + 1e-9, `n=${n}`);
    assert.ok(Math.abs(space.queryDistance(a, qb) - refQ) <= 1e-5 * refQ + 1e-9, `n=${n}`);
    assert.equal(space.distance(qa, qa), 0);
  }
  assert.throws(() => space.distance(quantize8(new Float32Array(3)), quantize8(new Float32Array(4))), (e) =>
    isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('HNSW recall@1 and @10 against brute force on seeded clustered tensors', () => {
  const raw = syntheticFamily(11, 30, 8, 128);
  const vectors = raw.map((x) => quantize8(x));
  const { hnsw, brute } = build(vectors);
  const rng = new SeededRandom(99);
  const queries = raw.filter((_, i) => i % 4 === 0).map((x) => quantize8(perturb(x, rng, 0.05)));
  const r1 = recall(hnsw, brute, queries, 1);
  const r10 = recall(hnsw, brute, queries, 10);
  console.log(`synthetic 240x128: recall@1=${r1.toFixed(3)} recall@10=${r10.toFixed(3)}`);
  assert.ok(r1 >= 0.98, `recall@1 ${r1}`);
  assert.ok(r10 >= 0.9, `recall@10 ${r10}`);
  const rFloat = recall(hnsw, brute, raw.filter((_, i) => i % 7 === 0), 1);
  assert.ok(rFloat >= 0.98, `float32-query recall@1 ${rFloat}`);
});

test('HNSW with a tiny M (large-tensor schedule) still finds the noisy copy top-1', () => {
  const raw = syntheticFamily(5, 60, 3, 128);
  const vectors = raw.map((x) => quantize8(x));
  const { hnsw, brute } = build(vectors, 3, 4);
  const rng = new SeededRandom(1);
  const queries = raw.map((x) => quantize8(perturb(x, rng, 0.01)));
  const r1 = recall(hnsw, brute, queries, 1);
  assert.ok(r1 >= 0.95, `recall@1 with M=4: ${r1}`);
});

test('same seed and inserts build the same graph; a different seed a different one', () => {
  const vectors = syntheticFamily(2, 10, 10, 64).map((x) => quantize8(x));
  const a = build(vectors, 42).hnsw.exportState();
  const b = build(vectors, 42).hnsw.exportState();
  const c = build(vectors, 43).hnsw.exportState();
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.nodes.map((n) => n.links.length), c.nodes.map((n) => n.links.length));
});

test('removal: removed ids never returned, remaining ids still found, accessor never asked for them', () => {
  const raw = syntheticFamily(8, 30, 10, 96);
  const vectors = raw.map((x) => quantize8(x));
  const removed = new Set<number>();
  const space = new Quant8L2Space();
  const get = (id: number) => {
    assert.ok(!removed.has(id), `accessor called for removed id ${id}`);
    return vectors[id]!;
  };
  const hnsw = new HnswIndex<Quant8, Quant8Query>(space, get, hnswParamsFor(96, { seed: 5, M: 6 }));
  const brute = new BruteForceIndex<Quant8, Quant8Query>(space, get);
  vectors.forEach((v, id) => (hnsw.insert(id, v), brute.insert(id, v)));
  const rng = new SeededRandom(17);
  const doomed = vectors.map((_, id) => id).filter(() => rng.next() < 0.4);
  for (const id of doomed) {
    assert.equal(hnsw.remove(id), true);
    assert.equal(brute.remove(id), true);
    removed.add(id);
  }
  assert.equal(hnsw.remove([...removed][0]!), false);
  assert.equal(hnsw.size, vectors.length - removed.size);
  assert.deepEqual(hnsw.ids(), brute.ids());
  let found = 0;
  for (let id = 0; id < vectors.length; id++) {
    const hits = hnsw.search(vectors[id]!, 10);
    for (const h of hits) assert.ok(!removed.has(h.id), `removed id ${h.id} returned`);
    if (!removed.has(id) && hits[0]!.id === id) found++;
  }
  assert.equal(found, vectors.length - removed.size, 'every remaining id is its own top-1');
  for (const id of doomed) {
    removed.delete(id);
    hnsw.insert(id, vectors[id]!);
  }
  assert.equal(hnsw.size, vectors.length);
  for (let id = 0; id < vectors.length; id++) assert.equal(hnsw.search(vectors[id]!, 1)[0]!.id, id);
});

test('removing every id empties the index; search on empty returns nothing', () => {
  const vectors = syntheticFamily(1, 5, 4, 32).map((x) => quantize8(x));
  const { hnsw } = build(vectors);
  for (let id = 0; id < vectors.length; id++) hnsw.remove(id);
  assert.equal(hnsw.size, 0);
  assert.deepEqual(hnsw.search(vectors[0]!, 3), []);
  hnsw.insert(3, vectors[3]!);
  assert.deepEqual(hnsw.search(vectors[0]!, 3).map((h) => h.id), [3]);
});

test('bad arguments are INVALID_ARGUMENT', () => {
  const vectors = syntheticFamily(1, 2, 2, 16).map((x) => quantize8(x));
  const { hnsw, brute } = build(vectors);
  const bad = (f: () => unknown, what: RegExp) =>
    assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && what.test((e as Error).message));
  for (const ix of [hnsw, brute]) {
    bad(() => ix.insert(0, vectors[0]!), /already/);
    bad(() => ix.insert(-1, vectors[0]!), /id must be/);
    bad(() => ix.insert(1.5, vectors[0]!), /id must be/);
    bad(() => ix.insert(9, quantize8(new Float32Array(17))), /17 elements/);
    bad(() => ix.search(vectors[0]!, 0), /k must be/);
    bad(() => ix.search(vectors[0]!, 1, 0), /ef must be/);
    bad(() => ix.search(new Float32Array(3), 1), /3 elements/);
  }
  bad(() => hnswParamsFor(100, { M: 1 }), /M must be/);
  const nan = new Float32Array(16);
  nan[5] = NaN;
  for (const ix of [hnsw, brute]) {
    bad(() => ix.search(nan, 1), /element 5 is NaN/);
    bad(() => ix.insert(7, { codes: new Uint8Array(16), min: Infinity, scale: 1 }), /not a Quant8/);
    bad(() => ix.insert(7, new Float32Array(16) as unknown as Quant8), /not a Quant8/);
  }
  const gone = new HnswIndex<Quant8, Quant8Query>(new Quant8L2Space(), (id) => (id === 0 ? vectors[0]! : undefined!), hnswParamsFor(16));
  gone.insert(0, vectors[0]!);
  gone.insert(1, vectors[1]!);
  assert.throws(() => gone.search(vectors[1]!, 2), (e) => isNeurStoreError(e, 'NOT_FOUND') && /id 1/.test((e as Error).message));
  bad(() => hnswParamsFor(-1), /elements/);
});

test('parameter schedule shrinks with tensor size and keeps overrides', () => {
  assert.deepEqual(hnswParamsFor(512), { M: 24, efConstruction: 64, efSearch: 64, seed: 1 });
  assert.deepEqual(hnswParamsFor(3_000_000), { M: 4, efConstruction: 3, efSearch: 6, seed: 1 });
  let prev = hnswParamsFor(1);
  for (let n = 2; n < 1e8; n *= 3) {
    const p = hnswParamsFor(n);
    assert.ok(p.M <= prev.M && p.efConstruction <= prev.efConstruction && p.efSearch <= prev.efSearch);
    prev = p;
  }
  assert.equal(hnswParamsFor(3_000_000, { M: 10 }).M, 10);
});

test('an accessor failing mid-insert leaves the index without the new id and still searchable', () => {
  const vectors = syntheticFamily(4, 6, 6, 24).map((x) => quantize8(x));
  let budget = Infinity;
  const get = (id: number) => {
    if (--budget < 0) throw new Error(`vector ${id} unavailable`);
    return vectors[id]!;
  };
  const hnsw = new HnswIndex<Quant8, Quant8Query>(new Quant8L2Space(), get, hnswParamsFor(24, { seed: 2, M: 2 }));
  for (let id = 0; id < 30; id++) hnsw.insert(id, vectors[id]!);
  let failures = 0;
  for (let limit = 0; limit < 400; limit += 7) {
    budget = limit; // the insert fails after `limit` vector reads, at a different step each time
    try {
      hnsw.insert(30, vectors[30]!);
      budget = Infinity;
      hnsw.remove(30);
      continue;
    } catch (e) {
      assert.match((e as Error).message, /unavailable/);
    }
    budget = Infinity;
    failures++;
    assert.equal(hnsw.has(30), false);
    assert.equal(hnsw.size, 30);
    for (const n of hnsw.exportState().nodes) assert.ok(n.links.every((l) => l.every((x) => x < 30)));
    for (let id = 0; id < 30; id++) assert.equal(hnsw.search(vectors[id]!, 1)[0]!.id, id);
  }
  assert.ok(failures >= 5, `${failures} failing inserts`);
  hnsw.insert(30, vectors[30]!);
  assert.equal(hnsw.search(vectors[30]!, 1)[0]!.id, 30);
});

test('many identical and constant tensors: no hang, ties broken by id, all returned', () => {
  const zero = quantize8(new Float32Array(32));
  const other = syntheticFamily(6, 2, 5, 32).map((x) => quantize8(x));
  const vectors = [...Array.from({ length: 40 }, () => zero), ...other];
  const { hnsw, brute } = build(vectors, 1, 3);
  const hits = hnsw.search(zero, 45, 64);
  assert.equal(hits.length, 45);
  assert.deepEqual(hits.slice(0, 40).map((h) => h.id), Array.from({ length: 40 }, (_, i) => i));
  assert.deepEqual(hits.map((h) => h.id), brute.search(zero, 45).map((h) => h.id));
  for (let id = 0; id < 40; id += 3) hnsw.remove(id);
  assert.equal(hnsw.search(zero, 1)[0]!.id, 1);
});
