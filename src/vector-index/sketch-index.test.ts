// Sketch mode: sketch quality, recall against exact top-1, re-ranking, the sketch router and persistence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantize8, type Quant8 } from '../codecs/quant8.js';
import { isNeurStoreError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { BruteForceIndex } from './brute-force-index.js';
import { Quant8L2Space, type Quant8Query } from './quant8-l2-space.js';
import { SeededRandom } from '../env/seeded-random.js';
import { deserializeSketchIndex, deserializeSketchRouter, serializeSketchIndex, serializeSketchRouter } from './sketch-index-codec.js';
import { SketchRouter } from './sketch-router.js';
import { transposeFloat32 } from './quant8-transpose.js';
import { SketchIndex } from './sketch-index.js';
import { TensorSketcher } from './tensor-sketcher.js';

const DIM = 6000;

/** 25 families of 3 fine-tunes each (relative noise 5-20%), as big tensors. */
function family(seed: number): Float32Array[] {
  const rng = new SeededRandom(seed);
  const out: Float32Array[] = [];
  for (let c = 0; c < 25; c++) {
    const base = Float32Array.from({ length: DIM }, () => rng.gaussian());
    for (let m = 0; m < 3; m++) out.push(base.map((v) => v + (0.05 + 0.05 * m) * rng.gaussian()));
  }
  return out;
}

const tensors = family(31);
const quant = tensors.map((t) => quantize8(t));
const space = new Quant8L2Space();

function build(dims = 256): SketchIndex {
  const ix = new SketchIndex(new TensorSketcher(5, dims), { seed: 8 });
  tensors.forEach((t, id) => ix.insert(id, t));
  return ix;
}

test('sketcher: deterministic, <= dims long, small tensors kept, roughly preserves distance', () => {
  const s = new TensorSketcher(1, 512);
  const rng = new SeededRandom(2);
  const x = Float32Array.from({ length: 50000 }, () => rng.gaussian());
  const y = x.map((v) => v + 0.1 * rng.gaussian());
  assert.deepEqual(s.sketch(x), new TensorSketcher(1, 512).sketch(x));
  assert.notDeepEqual(s.sketch(x), new TensorSketcher(2, 512).sketch(x));
  assert.equal(s.sketch(x).length, 512);
  assert.deepEqual(s.sketch(x.subarray(0, 300)), x.subarray(0, 300));
  let exact = 0;
  for (let i = 0; i < x.length; i++) exact += (x[i]! - y[i]!) ** 2;
  const sx = s.sketch(x);
  const sy = s.sketch(y);
  const approx = sx.reduce((a, v, i) => a + (v - sy[i]!) ** 2, 0);
  assert.ok(Math.abs(approx / exact - 1) < 0.25, `sketch distance ratio ${approx / exact}`);
  assert.throws(() => new TensorSketcher(1, 2048), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => new TensorSketcher(-1), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  const inf = x.slice();
  inf[40000] = -Infinity;
  assert.throws(() => s.sketch(inf), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /40000/.test((e as Error).message));
});

test('sketch recall vs exact top-1 on seeded families; re-ranking closes the gap', () => {
  const ix = build();
  const oracle = new BruteForceIndex<Quant8, Quant8Query>(space, (id) => quant[id]!);
  quant.forEach((q, id) => oracle.insert(id, q));
  const rng = new SeededRandom(77);
  let top1 = 0;
  let reranked = 0;
  const n = tensors.length;
  for (const t of tensors) {
    const q = t.map((v) => v + 0.1 * rng.gaussian());
    const truth = oracle.search(q, 1)[0]!.id;
    if (ix.candidates(q, 1)[0]!.id === truth) top1++;
    if (ix.search(q, 1, 5, (id) => space.queryDistance(q, quant[id]!))[0]!.id === truth) reranked++;
  }
  const perVector = (ix.memoryBytes() / ix.size).toFixed(0);
  console.log(`synthetic sketch (75 x ${DIM} -> 256 dims): top-1 ${top1}/${n}, re-ranked from 5 ${reranked}/${n}, ${perVector} B/vector`);
  assert.ok(top1 / n >= 0.6, `sketch top-1 ${top1}/${n}`);
  assert.ok(reranked / n >= 0.95, `re-ranked ${reranked}/${n}`);
});

test('sketch index: remove, errors, persistence round trip and corruption', () => {
  const ix = build(128);
  assert.equal(ix.remove(4), true);
  assert.equal(ix.remove(4), false);
  for (let id = 0; id < tensors.length; id += 5) {
    const hits = ix.candidates(tensors[id]!, 5);
    assert.ok(hits.every((h) => h.id !== 4));
  }
  assert.throws(() => ix.insert(0, tensors[0]!), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => ix.insert(99, new Float32Array(10)), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => ix.candidates(new Float32Array(10), 1), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  const blob = serializeSketchIndex(ix);
  const back = deserializeSketchIndex(blob);
  assert.equal(back.size, ix.size);
  for (let id = 0; id < tensors.length; id += 3) assert.deepEqual(back.candidates(tensors[id]!, 4), ix.candidates(tensors[id]!, 4));
  assert.deepEqual(serializeSketchIndex(back), blob);
  for (let n = 0; n < blob.length; n += 97) {
    assert.throws(() => deserializeSketchIndex(blob.subarray(0, n)), (e) => isNeurStoreError(e, 'CORRUPTION'));
  }
  const bad = blob.slice();
  bad[blob.length - 10] = bad[blob.length - 10]! ^ 1;
  assert.throws(() => deserializeSketchIndex(bad), (e) => isNeurStoreError(e, 'CORRUPTION'));
  new DataView(bad.buffer).setUint32(bad.length - 4, crc32c(bad.subarray(0, bad.length - 4)), true);
  assert.equal(deserializeSketchIndex(bad).size, ix.size, 'a code byte is data, not structure');
  const empty = deserializeSketchIndex(serializeSketchIndex(new SketchIndex(new TensorSketcher(1, 64))));
  assert.equal(empty.size, 0);
  assert.deepEqual(empty.candidates(tensors[0]!, 1), []);
});

test('sketch router: per-shape sketches, transposed matches flagged, exact re-rank, persistence', () => {
  const router = new SketchRouter(new TensorSketcher(9, 256), { hnsw: { seed: 4 } });
  tensors.forEach((t, id) => router.insert(id, id % 2 ? [40, 150] : [6000], t));
  assert.deepEqual(router.shapeKeys(), ['40x150', '6000']);
  const rng = new SeededRandom(5);
  const exactFor = (q: Float32Array) => (id: number, transposed: boolean) =>
    space.queryDistance(transposed ? transposeFloat32(q, 150, 40) : q, quant[id]!);
  for (let id = 1; id < tensors.length; id += 2) {
    const q = transposeFloat32(tensors[id]!.map((v) => v + 0.05 * rng.gaussian()), 40, 150);
    const hits = router.search([150, 40], q, 2, 4, exactFor(q));
    assert.deepEqual([hits[0]!.id, hits[0]!.transposed, hits[0]!.shapeKey], [id, true, '40x150']);
  }
  assert.throws(() => router.insert(1, [40, 150], tensors[1]!), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => router.insert(999, [41, 150], tensors[1]!), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.equal(router.remove(3), true);
  const blob = serializeSketchRouter(router);
  const back = deserializeSketchRouter(blob);
  assert.equal(back.size, router.size);
  assert.equal(back.has(3), false);
  for (let id = 0; id < tensors.length; id += 4) {
    const shape = id % 2 ? [40, 150] : [6000];
    assert.deepEqual(back.candidates(shape, tensors[id]!, 3), router.candidates(shape, tensors[id]!, 3));
  }
  assert.deepEqual(serializeSketchRouter(back), blob);
  for (let n = 0; n < blob.length; n += 101) {
    assert.throws(() => deserializeSketchRouter(blob.subarray(0, n)), (e) => isNeurStoreError(e, 'CORRUPTION'));
  }
  assert.throws(() => deserializeSketchIndex(blob), (e) => isNeurStoreError(e, 'CORRUPTION') && /kind 5/.test((e as Error).message));
});
