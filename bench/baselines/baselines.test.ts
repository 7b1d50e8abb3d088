/**
 * Tests of the compression baselines against oracles: brute-force plane extraction, a Map of SHA-256 hashes,
 * zstd sizes computed file by file, and the real blazeface pair (whose weights are identical).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compress } from 'zstd-napi';
import { SeededRandom } from '../../src/env/seeded-random.js';
import { isNeurStoreError } from '../../src/errors.js';
import { FIXTURES_DIR, ensureFixtures } from '../../scripts/fetch-fixtures.js';
import { fixtureModelSets, mnistCheckpointSet, tfjsFiles } from '../model-sets.js';
import { mergeBytePlanes, splitBytePlanes } from './byte-planes.js';
import { byteGroupedModelSize } from './byte-grouped-zstd-baseline.js';
import { chunkEnds, chunkViews, XET_CHUNKING, type ChunkerOptions } from './gear-chunker.js';
import { dedupChunks } from './cdc-dedup-baseline.js';
import { exactTensorDedup, exactTensorDedupBaseline, sha256Hex } from './exact-tensor-dedup-baseline.js';
import { cutTensors, loadModelSet, type LoadedModel, type LoadedSet } from './loaded-set.js';
import { zstdFilesBaseline } from './zstd-files-baseline.js';

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextU32() & 0xff;
  return out;
}

function syntheticModel(name: string, files: Uint8Array[]): LoadedModel {
  return { name, files: files.map((bytes, i) => ({ path: `${name}/${i}`, bytes })), tensors: [], nonTensor: new Uint8Array(0), unlocatedTensors: 0 };
}

const SMALL: ChunkerOptions = { minSize: 256, avgSize: 1024, maxSize: 4096, seed: 7 };

test('chunks tile the data and respect min and max sizes', () => {
  for (const [data, opts] of [[randomBytes(600_000, 1), XET_CHUNKING], [randomBytes(200_000, 2), SMALL], [new Uint8Array(300_000), XET_CHUNKING]] as const) {
    const ends = chunkEnds(data, opts);
    assert.equal(ends.at(-1), data.length);
    let start = 0;
    ends.forEach((end, i) => {
      const size = end - start;
      assert.ok(size <= opts.maxSize, `chunk ${i} is ${size} bytes > max ${opts.maxSize}`);
      if (i < ends.length - 1) assert.ok(size >= opts.minSize, `chunk ${i} is ${size} bytes < min ${opts.minSize}`);
      start = end;
    });
    assert.deepEqual(Buffer.concat(chunkViews(data, opts)), Buffer.from(data));
  }
  assert.deepEqual(chunkEnds(new Uint8Array(0)), []);
});

test('random data gets content-defined cuts, not only max-size cuts', () => {
  const data = randomBytes(2_000_000, 3);
  const sizes = chunkEnds(data).map((e, i, a) => e - (i === 0 ? 0 : a[i - 1]!));
  const belowMax = sizes.slice(0, -1).filter((s) => s < XET_CHUNKING.maxSize).length;
  assert.ok(belowMax >= (sizes.length - 1) / 2, `only ${belowMax} of ${sizes.length} chunks were cut by content`);
});

test('inserting bytes at the front moves only the first chunks', () => {
  for (const opts of [XET_CHUNKING, SMALL]) {
    const data = randomBytes(opts === SMALL ? 100_000 : 1_500_000, 4);
    const shifted = Buffer.concat([randomBytes(777, 5), data]);
    const before = new Set(chunkViews(data, opts).map(sha256Hex));
    const after = chunkViews(shifted, opts).map(sha256Hex);
    const survived = after.filter((h) => before.has(h)).length;
    assert.ok(survived >= after.length - 3, `only ${survived} of ${after.length} chunks survived an insert at the front`);
    // Past the resync point every boundary is the old one moved by the insert.
    const oldEnds = new Set(chunkEnds(data, opts).map((e) => e + 777));
    const newEnds = chunkEnds(shifted, opts);
    assert.ok(newEnds.slice(3).every((e) => oldEnds.has(e)));
  }
});

test('identical files dedup to one copy; a set of distinct files keeps every chunk', () => {
  const a = randomBytes(400_000, 6);
  const b = randomBytes(300_000, 7);
  const set: LoadedSet = { label: 't', models: [syntheticModel('m1', [a, b]), syntheticModel('m2', [a.slice()])] };
  const d = dedupChunks(set);
  assert.equal(d.uniqueBytes, a.length + b.length);
  assert.equal(d.chunks, 2 * chunkEnds(a).length + chunkEnds(b).length);
  const oracle = new Map<string, number>();
  for (const f of [a, b]) for (const c of chunkViews(f)) oracle.set(sha256Hex(c), c.length);
  assert.equal(d.uniqueChunks.length, oracle.size);
});

test('bad chunker options are INVALID_ARGUMENT', () => {
  const bad: ChunkerOptions[] = [{ ...SMALL, avgSize: 1000 }, { ...SMALL, minSize: 0 }, { ...SMALL, maxSize: 100 }];
  for (const o of bad) assert.throws(() => chunkEnds(new Uint8Array(10), o), (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('byte planes round-trip and hold byte k of every element', () => {
  for (const width of [1, 2, 4, 8]) {
    const data = randomBytes(width * 1001, 10 + width);
    const planes = splitBytePlanes(data, width);
    assert.equal(planes.length, width);
    for (let k = 0; k < width; k++) for (let i = 0; i < 1001; i++) assert.equal(planes[k]![i], data[i * width + k]);
    assert.deepEqual(mergeBytePlanes(planes), data);
  }
  assert.throws(() => splitBytePlanes(new Uint8Array(7), 4), (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => mergeBytePlanes([new Uint8Array(3), new Uint8Array(2)]), (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('byte-grouped size is zstd of each float plane plus the other streams', () => {
  const f32 = new Uint8Array(new Float32Array(Array.from({ length: 4000 }, (_, i) => Math.sin(i) * 0.01)).buffer);
  const i64 = randomBytes(800, 20);
  const arch = new TextEncoder().encode('{"graph":"not tensors"}'.repeat(20));
  const model: LoadedModel = {
    ...syntheticModel('g', [Buffer.concat([arch, f32, i64])]),
    tensors: [{ name: 'w', dtype: 'F32', bytes: f32 }, { name: 'shape', dtype: 'I64', bytes: i64 }],
    nonTensor: arch,
  };
  const z = (b: Uint8Array): number => compress(b, { compressionLevel: 3 }).length;
  const expected = splitBytePlanes(f32, 4).reduce((n, p) => n + z(p), 0) + z(i64) + z(arch);
  for (const g of ['tensor', 'dtype', 'best'] as const) assert.equal(byteGroupedModelSize(model, g), expected);
});

test('byte grouping per tensor and per dtype differ as their frames do; best is the smaller', () => {
  const floats = [1, 2, 3].map((s) => new Uint8Array(new Float32Array(Array.from({ length: 600 }, (_, i) => Math.cos(i * s) * 0.1)).buffer));
  const ints = [randomBytes(16, 40), randomBytes(24, 41)];
  const model: LoadedModel = {
    ...syntheticModel('h', [Buffer.concat([...floats, ...ints])]),
    tensors: [...floats.map((bytes, i) => ({ name: `f${i}`, dtype: 'F32' as const, bytes })), ...ints.map((bytes, i) => ({ name: `i${i}`, dtype: 'I64' as const, bytes }))],
  };
  const z = (b: Uint8Array): number => compress(b, { compressionLevel: 3 }).length;
  const perTensor = floats.reduce((n, f) => n + splitBytePlanes(f, 4).reduce((m, p) => m + z(p), 0), 0) + ints.reduce((n, b) => n + z(b), 0);
  const perDtype = splitBytePlanes(Buffer.concat(floats), 4).reduce((m, p) => m + z(p), 0) + z(Buffer.concat(ints));
  assert.equal(byteGroupedModelSize(model, 'tensor'), perTensor);
  assert.equal(byteGroupedModelSize(model, 'dtype'), perDtype);
  assert.equal(byteGroupedModelSize(model, 'best'), Math.min(perTensor, perDtype));
});

test('cutTensors removes located tensor ranges and counts the missing ones', () => {
  const head = randomBytes(100, 30);
  const t1 = randomBytes(500, 31);
  const mid = randomBytes(50, 32);
  const t2 = randomBytes(300, 33);
  const r = cutTensors([Buffer.concat([head, t1]), Buffer.concat([mid, t2])], [t2, t1, randomBytes(64, 34)]);
  assert.deepEqual(Buffer.from(r.nonTensor), Buffer.concat([head, mid]));
  assert.equal(r.unlocated, 1);
});

test('exact dedup of blazeface + blazeface-back counts the shared tensors once', async () => {
  ensureFixtures();
  const dir = join(FIXTURES_DIR, 'human-models');
  const models = ['blazeface', 'blazeface-back'].map((n) => ({ name: n, path: join(dir, `${n}.json`), files: tfjsFiles(join(dir, `${n}.json`)) }));
  const set = await loadModelSet({ label: 'blazeface pair', models });
  const unique = new Map<string, number>();
  for (const m of set.models) for (const t of m.tensors) unique.set(sha256Hex(t.bytes), t.bytes.length);
  const d = exactTensorDedup(set);
  assert.equal(d.tensors, set.models[0]!.tensors.length + set.models[1]!.tensors.length);
  assert.equal(d.uniqueTensors, unique.size);
  assert.ok(d.uniqueTensors < d.tensors, 'the pair shares tensors');
  const fileBytes = models.flatMap((m) => m.files).reduce((n, f) => n + readFileSync(f).length, 0);
  const tensorBytes = set.models.flatMap((m) => m.tensors).reduce((n, t) => n + t.bytes.length, 0);
  const uniqueBytes = [...unique.values()].reduce((n, b) => n + b, 0);
  assert.equal(exactTensorDedupBaseline(set).bytes, uniqueBytes + fileBytes - tensorBytes);
  assert.ok(set.models.every((m) => m.unlocatedTensors === 0));
});

test('the zstd baseline is the sum of the zstd -3 sizes of the files', async () => {
  ensureFixtures();
  const dir = join(FIXTURES_DIR, 'face-api');
  const path = join(dir, 'face_expression_model-weights_manifest.json');
  const files = tfjsFiles(path);
  assert.equal(files.length, 2);
  const set = await loadModelSet({ label: 'one', models: [{ name: 'expr', path, files }] });
  const expected = files.reduce((n, f) => n + compress(readFileSync(f), { compressionLevel: 3 }).length, 0);
  assert.equal(zstdFilesBaseline(set).bytes, expected);
});

test('model sets name every file of every model, and the files exist', () => {
  ensureFixtures();
  const sets = [mnistCheckpointSet(), ...fixtureModelSets()];
  assert.deepEqual(sets.map((s) => s.models.length), [3, 2, 2, 41, 3]);
  for (const s of sets) {
    for (const m of s.models) {
      assert.equal(m.files[0], m.path);
      assert.equal(m.files.length, m.path.endsWith('.json') ? 2 : 1, `${m.name}: ${m.files.join(', ')}`);
      for (const f of m.files) assert.ok(existsSync(f), `${s.label}: ${f} is missing`);
    }
  }
  assert.throws(() => tfjsFiles(join(FIXTURES_DIR, 'mnist', '0.json')), (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});
