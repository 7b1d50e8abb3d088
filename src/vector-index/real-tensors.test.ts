/**
 * Recall on real weights: tensors of several human-models (TF.js graph models) grouped by shape. Base models
 * are indexed; each related model's tensors are the queries. Oracle: brute force per shape.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { quantize8, type Quant8 } from '../codecs/quant8.js';
import { BruteForceIndex } from './brute-force-index.js';
import { HnswIndex } from './hnsw-index.js';
import { hnswParamsFor } from './hnsw-params.js';
import { Quant8L2Space, type Quant8Query } from './quant8-l2-space.js';
import { shapeKey, ShapeRouter } from './shape-router.js';
import { SketchIndex } from './sketch-index.js';
import { TensorSketcher } from './tensor-sketcher.js';
import { transposeFloat32 } from './quant8-transpose.js';

interface Tensor {
  readonly model: string;
  readonly name: string;
  readonly shape: number[];
  readonly data: Float32Array;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };

const HALF = Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h));

function decode(w: ManifestWeight, bin: Buffer, at: number, count: number): Float32Array {
  const q = w.quantization;
  const bytes = (n: number) => bin.buffer.slice(bin.byteOffset + at, bin.byteOffset + at + n);
  if (!q) return new Float32Array(bytes(4 * count));
  if (q.dtype === 'float16') return Float32Array.from(new Uint16Array(bytes(2 * count)), (h) => HALF[h]!);
  const codes = q.dtype === 'uint8' ? new Uint8Array(bytes(count)) : new Uint16Array(bytes(2 * count));
  return Float32Array.from(codes, (c) => q.min! + q.scale! * c);
}

/** Every float32 weight of `model`, sliced per its manifest from MODEL.bin. */
function loadModel(model: string): Tensor[] {
  const manifest = JSON.parse(readFileSync(fixturePath('human-models', `${model}.json`), 'utf8'));
  const bin = readFileSync(fixturePath('human-models', `${model}.bin`));
  const out: Tensor[] = [];
  let at = 0;
  for (const group of manifest.weightsManifest as Array<{ paths: string[]; weights: ManifestWeight[] }>) {
    assert.deepEqual(group.paths, [`${model}.bin`]);
    for (const w of group.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const width = BYTES[w.quantization?.dtype ?? w.dtype]!;
      if (w.dtype === 'float32') out.push({ model, name: w.name, shape: w.shape, data: decode(w, bin, at, count) });
      at += count * width;
    }
  }
  assert.equal(at, bin.length, `${model}: manifest covers the whole .bin`);
  return out;
}

/** [base, derived] pairs that share tensor names; queries come from `derived`. */
const PAIRS: Array<[string, string]> = [
  ['faceres-deep', 'faceres'],
  ['handlandmark-full', 'handlandmark-sparse'],
  ['blazeface', 'blazeface-back'],
  ['age', 'gender-ssrnet-imdb'],
  ['meet', 'selfie'],
];
/** Extra base models that share many shapes with the pairs, so shape groups are not trivially small. */
const EXTRA_BASES = ['blazepose-lite', 'handlandmark-lite', 'handskeleton', 'iris', 'facemesh-detection-full', 'facemesh-detection-short'];

ensureFixtures();
const t0 = performance.now();
const bases = [...PAIRS.map(([b]) => b), ...EXTRA_BASES].flatMap(loadModel).filter((t) => t.data.length >= 2);
const queries = PAIRS.flatMap(([, d]) => loadModel(d)).filter((t) => t.data.length >= 2);
const baseQ = bases.map((t) => quantize8(t.data));
const space = new Quant8L2Space();
const get = (id: number): Quant8 => baseQ[id]!;
const pairOf = new Map(PAIRS.map(([b, d]) => [d, b]));
console.log(`loaded ${bases.length + queries.length} tensors in ${(performance.now() - t0).toFixed(0)} ms`);

function buildRouter(): ShapeRouter {
  const router = new ShapeRouter(space, get, { hnsw: { seed: 2026 } });
  bases.forEach((t, id) => router.insert(id, t.shape, baseQ[id]!));
  return router;
}

function buildOracle(): Map<string, BruteForceIndex<Quant8, Quant8Query>> {
  const m = new Map<string, BruteForceIndex<Quant8, Quant8Query>>();
  bases.forEach((t, id) => {
    const key = shapeKey(t.shape);
    if (!m.has(key)) m.set(key, new BruteForceIndex(space, get));
    m.get(key)!.insert(id, baseQ[id]!);
  });
  return m;
}

test('real tensors: HNSW recall@1/@10 vs brute force, and same-name base tensor is top-1', () => {
  const router = buildRouter();
  const oracle = buildOracle();
  let q1 = 0, hit1 = 0, q10 = 0, hit10 = 0;
  const sameName = new Map<string, [number, number]>();
  for (const t of queries) {
    const brute = oracle.get(shapeKey(t.shape));
    if (!brute) continue;
    const qq = quantize8(t.data);
    const truth = brute.search(qq, 10);
    const got = router.search(t.shape, qq, 10).filter((h) => !h.transposed);
    q1++;
    if (got[0]?.id === truth[0]!.id || got[0]?.distance === truth[0]!.distance) hit1++;
    const truthIds = new Set(truth.map((h) => h.id));
    q10 += truth.length;
    hit10 += got.slice(0, truth.length).filter((h) => truthIds.has(h.id)).length;
    const twin = bases.findIndex((b) => b.model === pairOf.get(t.model) && b.name === t.name && shapeKey(b.shape) === shapeKey(t.shape));
    if (twin < 0) continue;
    const s = sameName.get(t.model) ?? [0, 0];
    s[1]++;
    if (got[0]?.id === twin) s[0]++;
    sameName.set(t.model, s);
  }
  const r1 = hit1 / q1;
  const r10 = hit10 / q10;
  console.log(`real: ${bases.length} base tensors in ${router.shapeKeys().length} shapes, ${q1} queries: recall@1=${r1.toFixed(4)} recall@10=${r10.toFixed(4)}`);
  for (const [m, [ok, n]] of sameName) console.log(`  ${pairOf.get(m)} <- ${m}: same-name top-1 ${ok}/${n}`);
  let graphBytes = 0;
  for (const k of router.shapeKeys()) graphBytes += router.indexFor(k)!.memoryBytes();
  const vecBytes = baseQ.reduce((a, q) => a + q.codes.length, 0);
  console.log(`  graph memory ${(graphBytes / bases.length).toFixed(0)} B/vector; base codes ${(vecBytes / bases.length).toFixed(0)} B/vector (held by the store, not the index)`);
  assert.ok(r1 >= 0.99, `recall@1 ${r1}`);
  assert.ok(r10 >= 0.95, `recall@10 ${r10}`);
  // faceres is faceres-deep stored as float16 and blazeface-back a re-export of blazeface: every tensor
  // must find its own origin. The other pairs are separately trained models that merely share layer names.
  assert.deepEqual(sameName.get('faceres'), [72, 72]);
  assert.deepEqual(sameName.get('blazeface-back'), [106, 106]);
});

test('real tensors: a transposed re-export finds its base, flagged transposed', () => {
  const router = buildRouter();
  let checked = 0;
  for (const t of queries.filter((q) => q.model === 'faceres' && q.shape.length === 2 && q.shape[0] !== q.shape[1])) {
    const [r, c] = t.shape as [number, number];
    const twin = bases.findIndex((b) => b.model === 'faceres-deep' && b.name === t.name);
    const hits = router.search([c, r], transposeFloat32(t.data, r, c), 3);
    assert.equal(hits[0]!.id, twin, t.name);
    assert.equal(hits[0]!.transposed, true);
    assert.equal(hits[0]!.shapeKey, shapeKey(t.shape));
    checked++;
  }
  assert.ok(checked >= 2, `checked ${checked} matrices`);
});

test('real tensors: sketch search (<= 1024 dims) vs exact top-1, with and without re-ranking', () => {
  const oracle = buildOracle();
  const sketcher = new TensorSketcher(7, 1024);
  const sketchIndexes = new Map<string, SketchIndex>();
  bases.forEach((t, id) => {
    if (t.data.length <= 1024) return;
    const key = shapeKey(t.shape);
    if (!sketchIndexes.has(key)) sketchIndexes.set(key, new SketchIndex(sketcher, { seed: 3 }));
    sketchIndexes.get(key)!.insert(id, t.data);
  });
  let n = 0, top1 = 0, rerank3 = 0, sketchBytes = 0, vectors = 0, twins = 0, twinTop1 = 0;
  for (const t of queries) {
    const ix = sketchIndexes.get(shapeKey(t.shape));
    if (!ix || ix.size < 2) continue;
    const truth = oracle.get(shapeKey(t.shape))!.search(t.data, 1)[0]!;
    n++;
    const sketchTop = ix.candidates(t.data, 1)[0]!.id;
    if (sketchTop === truth.id) top1++;
    const norm = t.data.reduce((a, v) => a + v * v, 0);
    if (truth.distance <= 0.01 * norm) {
      twins++;
      if (sketchTop === truth.id) twinTop1++;
    }
    const exact = (id: number) => space.queryDistance(t.data, baseQ[id]!);
    if (ix.search(t.data, 1, 3, exact)[0]!.id === truth.id) rerank3++;
  }
  for (const ix of sketchIndexes.values()) (sketchBytes += ix.memoryBytes()), (vectors += ix.size);
  console.log(
    `sketch: ${n} queries over shapes with >= 2 big bases: top-1 ${top1}/${n}, ` +
      `re-ranked from 3 candidates ${rerank3}/${n}; ` +
      `near-duplicates (exact distance <= 1% of |q|^2): top-1 ${twinTop1}/${twins}; ` +
      `${(sketchBytes / vectors).toFixed(0)} B/vector`,
  );
  assert.ok(n >= 20, `only ${n} sketch queries`);
  assert.ok(rerank3 / n >= 0.95, `re-ranked sketch recall ${rerank3}/${n}`);
  assert.ok(top1 / n >= 0.8, `sketch top-1 recall ${top1}/${n}`);
  assert.equal(twinTop1, twins, 'near-duplicates are found by the sketch alone');
});

function rowRecall(rows: Quant8[], options: { M?: number; efConstruction?: number; efSearch?: number }) {
  const getRow = (id: number) => rows[id]!;
  const hnsw = new HnswIndex<Quant8, Quant8Query>(space, getRow, hnswParamsFor(256, { seed: 12, ...options }));
  const brute = new BruteForceIndex<Quant8, Quant8Query>(space, getRow);
  for (let id = 0; id < rows.length; id += 2) (hnsw.insert(id, rows[id]!), brute.insert(id, rows[id]!));
  let n = 0, hit1 = 0, hit10 = 0;
  for (let id = 1; id < rows.length; id += 2) {
    const truth = brute.search(rows[id]!, 10);
    const got = hnsw.search(rows[id]!, 10);
    n++;
    if (got[0]!.id === truth[0]!.id) hit1++;
    const ids = new Set(truth.map((h) => h.id));
    hit10 += got.filter((h) => ids.has(h.id)).length;
  }
  const p = hnsw.parameters;
  console.log(
    `rows (M=${p.M} efC=${p.efConstruction} efS=${p.efSearch}): ${hnsw.size} rows of 256 indexed, ${n} queries: ` +
      `recall@1=${(hit1 / n).toFixed(4)} recall@10=${(hit10 / (10 * n)).toFixed(4)}; ` +
      `graph ${(hnsw.memoryBytes() / hnsw.size).toFixed(0)} B/vector`,
  );
  return { n, r1: hit1 / n, r10: hit10 / (10 * n) };
}

test('real tensors as vectors: rows of faceres-deep weights (hard, unclustered), HNSW vs brute force', () => {
  const rows: Quant8[] = [];
  for (const t of bases) {
    if (t.model !== 'faceres-deep' || t.shape.length < 2 || t.shape[t.shape.length - 1] !== 256) continue;
    for (let at = 0; at < t.data.length; at += 256) rows.push(quantize8(t.data.subarray(at, at + 256)));
  }
  // Every other row of each kind keeps the test fast on a loaded 2-core machine; 700 rows remain.
  rows.splice(0, rows.length, ...rows.filter((_, i) => i % 2 === 0));
  const rich = rowRecall(rows, {});
  assert.ok(rich.n >= 300);
  assert.ok(rich.r1 >= 0.9, `recall@1 ${rich.r1}`);
  assert.ok(rich.r10 >= 0.85, `recall@10 ${rich.r10}`);
  // The sparse parameters of the biggest tensors, measured for the report: only a floor is asserted.
  const sparse = rowRecall(rows, { M: 4, efConstruction: 3, efSearch: 6 });
  assert.ok(sparse.r1 >= 0.3, `sparse recall@1 ${sparse.r1}`);
});
