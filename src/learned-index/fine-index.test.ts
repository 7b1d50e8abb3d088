// Single-threaded FINEdex tests against a Map/sorted-array oracle with a seeded generator (PGM-index style).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapKeyIndex } from '../engine/key-index.js';
import { isNeurStoreError } from '../errors.js';
import { Worker } from 'node:worker_threads';
import { H } from './arena.js';
import { FineIndex } from './fine-index.js';
import { dirFind, dirModel, lowerBound, M_N, R_LOCK, recAt } from './model.js';
import { SeededRandom } from './u64.js';

const MAX = (1n << 64n) - 1n;

function rand64(r: SeededRandom): bigint {
  return (BigInt(r.nextU32()) << 32n) | BigInt(r.nextU32());
}

function sortedPairs(m: Map<bigint, bigint>): Array<[bigint, bigint]> {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/**
 * Contents, scan order and lookups against the oracle, on both lookup paths (`idx` runs wasm when built; a
 * second handle runs TS), one key at a time and batched, for every present key and a neighbour of each.
 */
function checkAll(idx: FineIndex, oracle: Map<bigint, bigint>): void {
  assert.equal(idx.size, oracle.size);
  assert.deepEqual(idx.scan(0n, Number.MAX_SAFE_INTEGER), sortedPairs(oracle));
  const keys = [...oracle.keys()];
  for (const k of oracle.keys()) keys.push(k === MAX ? 0n : k + 1n);
  const want = keys.map((k) => oracle.get(k));
  const ts = FineIndex.attach(idx.handle(), { path: 'ts' });
  try {
    for (let i = 0; i < keys.length; i++) {
      assert.equal(idx.get(keys[i]), want[i]);
      assert.equal(ts.get(keys[i]), want[i]);
    }
    assert.deepEqual(idx.getMany(keys), want);
    assert.deepEqual(ts.getMany(keys), want);
    // Scans on both paths: whole, and windows that start between keys and cross wasm scan chunks.
    const sorted = sortedPairs(oracle);
    assert.deepEqual(ts.scan(0n, Number.MAX_SAFE_INTEGER), sorted);
    for (let j = 0; j < sorted.length; j += 997) {
      const from = sorted[j][0] === MAX ? MAX : sorted[j][0] + 1n;
      const end = sorted[Math.min(sorted.length - 1, j + 600)][0];
      const want = sorted.filter(([k]) => k >= from && k <= end).slice(0, 300);
      assert.deepEqual(idx.range(from, end, 300), want);
      assert.deepEqual(ts.range(from, end, 300), want);
    }
  } finally {
    ts.close();
  }
}

test('lookups and write descents run in wasm by default and in TS on request', () => {
  assert.equal(FineIndex.create().stats().path, 'wasm', 'npm test builds the wasm module first');
  assert.equal(FineIndex.create({ path: 'ts' }).stats().path, 'ts');
  const idx = FineIndex.create();
  assert.equal(FineIndex.attach(idx.handle(), { path: 'ts' }).stats().path, 'ts');
});

test('getManyHL writes values and found flags per key, and counts hits', () => {
  const idx = FineIndex.create();
  idx.bulkLoad([[1n, 10n], [(7n << 32n) | 5n, (9n << 32n) | 3n]]);
  idx.set(4n, 40n); // a pair slot
  const keys = Uint32Array.from([0, 1, 0, 2, 7, 5, 0, 4, 0xffffffff, 0xffffffff]);
  const values = new Uint32Array(10).fill(77);
  const found = new Uint8Array(5).fill(9);
  assert.equal(idx.getManyHL(keys, values, found), 3);
  assert.deepEqual([...found], [1, 0, 1, 1, 0]);
  assert.deepEqual([...values], [0, 10, 77, 77, 9, 3, 0, 40, 77, 77]);
  assert.equal(idx.getManyHL(new Uint32Array(0), new Uint32Array(0), new Uint8Array(0)), 0);
});

test('batched lookups cover more keys than one wasm batch', () => {
  const idx = FineIndex.create({ maxModelKeys: 256 });
  const oracle = new Map<bigint, bigint>();
  for (let i = 0n; i < 3000n; i++) oracle.set(i * 3n, i);
  idx.bulkLoad(sortedPairs(oracle));
  for (let i = 0n; i < 600n; i++) {
    idx.set(i * 3n + 1n, i); // pair slots, then level bins (i * 3n + 2n below)
    oracle.set(i * 3n + 1n, i);
    if (i % 2n === 0n) {
      idx.set(i * 3n + 2n, i + 5n);
      oracle.set(i * 3n + 2n, i + 5n);
    }
  }
  for (let i = 0n; i < 900n; i += 7n) {
    idx.delete(i);
    oracle.delete(i);
  }
  checkAll(idx, oracle);
});

test('empty index answers nothing and accepts inserts', () => {
  const idx = FineIndex.create();
  assert.equal(idx.size, 0);
  assert.equal(idx.get(5n), undefined);
  assert.deepEqual(idx.scan(0n, 10), []);
  assert.equal(idx.delete(5n), false);
  idx.set(5n, 50n);
  assert.equal(idx.get(5n), 50n);
  assert.equal(idx.size, 1);
});

test('extreme keys and values are exact (0, 2^53±1, 2^64-1)', () => {
  const keys = [0n, 1n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, MAX - 1n, MAX, 1n << 63n];
  const idx = FineIndex.create({ epsilon: 4 });
  const oracle = new Map<bigint, bigint>();
  for (const k of keys) {
    idx.set(k, MAX - k);
    oracle.set(k, MAX - k);
  }
  checkAll(idx, oracle);
  idx.bulkLoad(sortedPairs(oracle));
  checkAll(idx, oracle);
  assert.equal(idx.get((1n << 53n) + 2n), undefined);
  assert.deepEqual(idx.scan(MAX, 5), [[MAX, 0n]]);
});

for (const path of ['wasm', 'ts'] as const) test(`dense keys beyond 2^53 stay distinct after bulk load and retraining (${path} path)`, () => {
  const base = MAX - 30_000_000n;
  const pairs: Array<[bigint, bigint]> = [];
  for (let i = 0n; i < 20_000n; i++) pairs.push([base + i * 1000n, i]);
  const idx = FineIndex.create({ epsilon: 8, maxModelKeys: 256, path });
  idx.bulkLoad(pairs);
  const oracle = new Map(pairs);
  for (let i = 1n; i < 3000n; i++) {
    // 999 keys into one gap, the rest spread: level-bin retraining, then model retraining
    const k = i < 1000n ? base + 5_000n + i : base + i * 7919n + 1n;
    idx.set(k, MAX - i);
    oracle.set(k, MAX - i);
  }
  checkAll(idx, oracle);
  assert.ok(idx.stats().binRetrains > 0, 'level-bin retraining ran');
  assert.ok(idx.stats().modelRetrains > 0, 'model retraining ran');
});

test('duplicates: set replaces, insert reports, update needs presence', () => {
  const idx = FineIndex.create();
  idx.bulkLoad([[10n, 1n], [20n, 2n]]);
  assert.equal(idx.insert(10n, 9n), false);
  assert.equal(idx.get(10n), 1n);
  assert.equal(idx.insert(15n, 3n), true);
  assert.equal(idx.insert(15n, 4n), false);
  assert.equal(idx.update(15n, 5n), true);
  assert.equal(idx.update(16n, 5n), false);
  idx.set(20n, 7n);
  assert.deepEqual(idx.scan(0n, 10), [[10n, 1n], [15n, 5n], [20n, 7n]]);
  assert.equal(idx.size, 3);
});

for (const path of ['wasm', 'ts'] as const) test(`randomized operations match a Map oracle (inserts force bin and model retraining; ${path} path)`, () => {
  const r = new SeededRandom(42);
  const idx = FineIndex.create({ epsilon: 16, maxModelKeys: 2048, path });
  assert.equal(idx.stats().path, path);
  const oracle = new Map<bigint, bigint>();
  const initial: Array<[bigint, bigint]> = [];
  for (let i = 0; i < 20_000; i++) initial.push([BigInt(i) * 1_000_003n, BigInt(i)]);
  idx.bulkLoad(initial);
  for (const [k, v] of initial) oracle.set(k, v);
  const live: bigint[] = initial.map((p) => p[0]);
  for (let op = 0; op < 30_000; op++) {
    if (op % 1000 === 999) {
      const from = live[r.int(live.length)];
      const lim = 1 + r.int(300);
      const want = sortedPairs(oracle).filter((p) => p[0] >= from).slice(0, lim);
      assert.deepEqual(idx.scan(from, lim), want);
    }
    const dice = r.int(100);
    if (dice < 55) {
      // A share of inserts lands in one narrow key range: fills single gaps, forcing level-bin retraining.
      const pick = r.int(8);
      const k = pick === 0 ? rand64(r) : pick === 1 ? 7_000_021n + BigInt(r.int(999_000)) : BigInt(r.int(2e10));
      const v = rand64(r);
      idx.set(k, v);
      oracle.set(k, v);
      live.push(k);
    } else if (dice < 75) {
      const k = live[r.int(live.length)];
      assert.equal(idx.delete(k), oracle.delete(k));
    } else {
      const k = r.int(3) === 0 ? rand64(r) : live[r.int(live.length)];
      assert.equal(idx.get(k), oracle.get(k));
    }
  }
  checkAll(idx, oracle);
  const st = idx.stats();
  assert.ok(st.binRetrains > 0, 'level-bin retraining ran');
  assert.ok(st.modelRetrains > 0, 'model retraining ran');
});

test('sequential appends, deletes of everything, and re-inserts', () => {
  const idx = FineIndex.create({ maxModelKeys: 512 });
  const oracle = new MapKeyIndex();
  for (let i = 0; i < 30_000; i++) {
    idx.set(BigInt(i), BigInt(i * 3));
    oracle.set(BigInt(i), BigInt(i * 3));
  }
  assert.deepEqual(idx.scan(0n, 1e9), oracle.scan(0n, 1e9));
  for (let i = 0; i < 30_000; i += 1) assert.equal(idx.delete(BigInt(i)), true);
  assert.equal(idx.size, 0);
  assert.deepEqual(idx.scan(0n, 10), []);
  for (let i = 29_999; i >= 0; i -= 3) idx.set(BigInt(i), 1n);
  assert.equal(idx.size, 10_000);
  const s = idx.scan(0n, 1e9);
  assert.equal(s.length, 10_000);
  for (let i = 1; i < s.length; i++) assert.ok(s[i - 1][0] < s[i][0]);
});

test('range scans cross models and stop at the end key', () => {
  const pairs: Array<[bigint, bigint]> = [];
  for (let i = 0; i < 5000; i++) pairs.push([BigInt(i * i), BigInt(i)]);
  const idx = FineIndex.create({ epsilon: 2, maxModelKeys: 64 });
  idx.bulkLoad(pairs);
  assert.ok(idx.stats().models > 50);
  assert.deepEqual(idx.range(100n, 10_000n), pairs.filter(([k]) => k >= 100n && k <= 10_000n));
  assert.deepEqual(idx.scan(101n, 3000), pairs.filter(([k]) => k >= 101n).slice(0, 3000));
  assert.deepEqual(idx.range(5n, 3n), []);
});

test('bad input is INVALID_ARGUMENT', () => {
  const idx = FineIndex.create();
  const bad = (f: () => unknown): void => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  bad(() => idx.get(-1n));
  bad(() => idx.set(1n << 64n, 0n));
  bad(() => idx.set(1n, -2n));
  bad(() => idx.get(3 as unknown as bigint));
  bad(() => idx.bulkLoad([[2n, 0n], [1n, 0n]]));
  bad(() => idx.bulkLoad([[2n, 0n], [2n, 0n]]));
  bad(() => idx.getHL(-1, 0));
  bad(() => idx.getHL(0, 2 ** 32));
  bad(() => idx.scan(0n, -1));
  bad(() => FineIndex.create({ epsilon: 0 }));
  bad(() => FineIndex.attach({ buffer: new SharedArrayBuffer(8) } as never));
  const Memory = (globalThis as unknown as { WebAssembly: { Memory: new (d: object) => never } }).WebAssembly.Memory;
  bad(() => FineIndex.attach({ memory: new Memory({ initial: 1, maximum: 1, shared: true }) }));
  bad(() => FineIndex.create({ path: 'gpu' as never }));
  bad(() => FineIndex.create({ maxBytes: 2 ** 33 }));
  bad(() => idx.getManyHL(new Uint32Array(3), new Uint32Array(4), new Uint8Array(2)));
  bad(() => idx.getManyHL([0, 1] as never, new Uint32Array(2), new Uint8Array(1)));
  bad(() => idx.getMany([1n, -1n]));
  const other = FineIndex.attach(idx.handle());
  other.close();
  bad(() => other.get(1n));
  other.close(); // closing twice is harmless
});

test('a wasm lookup that meets a slot held by another thread gives up and finishes on the TS path', async () => {
  const idx = FineIndex.create();
  idx.bulkLoad([[10n, 1n], [20n, 2n], [30n, 3n]]);
  const a = idx.sharedArena;
  const d = Atomics.load(a.i32, H.ROOT);
  const m = dirModel(a.u32, d, dirFind(a.u32, d, 0, 20));
  const n = a.u32[m + M_N];
  const lock = recAt(m, n) + 4 * lowerBound(a.u32, a.f64, m, 0, 20, 32) + R_LOCK;
  // The worker takes the slot's seqlock, holds it ~100 ms, then releases it with a new version.
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const i32 = new Int32Array(workerData.memory.buffer);
     Atomics.add(i32, workerData.lock, 1);
     parentPort.postMessage('locked');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
     Atomics.add(i32, workerData.lock, 3);`,
    { eval: true, workerData: { memory: idx.handle().memory, lock } },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  assert.equal(idx.stats().path, 'wasm');
  assert.equal(idx.get(20n), 2n); // blocks until the release: the version check passes only then
  assert.equal(Atomics.load(a.i32, lock) & 1, 0, 'the lookup returned after the release');
  await worker.terminate();
});

test('a full arena is NOT_SUPPORTED on the write that needs room; what is stored stays readable', () => {
  const idx = FineIndex.create({ initialBytes: 1 << 16, maxBytes: 1 << 20, maxModelKeys: 1024 });
  const oracle = new Map<bigint, bigint>();
  let err: unknown;
  const r = new SeededRandom(9);
  for (let i = 0; i < 200_000 && err === undefined; i++) {
    const k = rand64(r);
    try {
      idx.set(k, BigInt(i));
      oracle.set(k, BigInt(i));
    } catch (e) {
      err = e;
    }
  }
  assert.ok(isNeurStoreError(err, 'NOT_SUPPORTED'), `expected NOT_SUPPORTED, got ${String(err)}`);
  assert.match((err as Error).message, /arena full/);
  checkAll(idx, oracle);
  // A bulk load that does not fit fails whole: the old contents stay.
  const many: Array<[bigint, bigint]> = [];
  for (let i = 0n; i < 100_000n; i++) many.push([i, i]);
  assert.throws(() => idx.bulkLoad(many), (e) => isNeurStoreError(e, 'NOT_SUPPORTED'));
  checkAll(idx, oracle);
  for (const k of [...oracle.keys()].slice(0, 100)) {
    assert.equal(idx.delete(k), true); // still writable
    oracle.delete(k);
  }
  checkAll(idx, oracle);
});

test('gaps that fill with two or three keys are compacted by retraining: memory stays near the bulk-loaded size', () => {
  // Every fourth key bulk-loaded, the other three quarters inserted in scattered order: without the
  // pair-to-bin weighting most gaps would hold a 336-byte level bin for two or three keys (~80 B/key).
  const n = 160_000;
  const key = (i: number): bigint => BigInt(i) * 7_777_777n + 12_345n;
  const pairs: Array<[bigint, bigint]> = [];
  for (let i = 0; i < n; i += 4) pairs.push([key(i), BigInt(i)]);
  const idx = FineIndex.create({ maxModelKeys: 2048 });
  idx.bulkLoad(pairs);
  const oracle = new Map(pairs);
  const rest = (n / 4) * 3;
  for (let k = 0; k < rest; k++) {
    const j = (k * 7919) % rest;
    const i = 4 * Math.floor(j / 3) + 1 + (j % 3);
    idx.set(key(i), BigInt(i));
    oracle.set(key(i), BigInt(i));
  }
  checkAll(idx, oracle);
  const perKey = idx.stats().arenaBytes / idx.size;
  assert.ok(perKey < 45, `${perKey.toFixed(1)} bytes per key`);
});
