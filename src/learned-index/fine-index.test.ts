// Single-threaded FINEdex tests against a Map/sorted-array oracle with a seeded generator (PGM-index style).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MapKeyIndex } from '../engine/key-index.js';
import { isNeurStoreError } from '../errors.js';
import { FineIndex } from './fine-index.js';
import { SeededRandom } from './u64.js';

const MAX = (1n << 64n) - 1n;

function rand64(r: SeededRandom): bigint {
  return (BigInt(r.nextU32()) << 32n) | BigInt(r.nextU32());
}

function sortedPairs(m: Map<bigint, bigint>): Array<[bigint, bigint]> {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function checkAll(idx: FineIndex, oracle: Map<bigint, bigint>): void {
  assert.equal(idx.size, oracle.size);
  assert.deepEqual(idx.scan(0n, Number.MAX_SAFE_INTEGER), sortedPairs(oracle));
  for (const [k, v] of oracle) assert.equal(idx.get(k), v);
}

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

test('dense keys beyond 2^53 stay distinct after bulk load and retraining', () => {
  const base = MAX - 30_000_000n;
  const pairs: Array<[bigint, bigint]> = [];
  for (let i = 0n; i < 20_000n; i++) pairs.push([base + i * 1000n, i]);
  const idx = FineIndex.create({ epsilon: 8, maxModelKeys: 256 });
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

test('randomized operations match a Map oracle (inserts force bin and model retraining)', () => {
  const r = new SeededRandom(42);
  const idx = FineIndex.create({ epsilon: 16, maxModelKeys: 2048 });
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
  bad(() => FineIndex.attach({ buffer: new SharedArrayBuffer(8) }));
  const other = FineIndex.attach(idx.handle());
  other.close();
  bad(() => other.get(1n));
  other.close(); // closing twice is harmless
});
