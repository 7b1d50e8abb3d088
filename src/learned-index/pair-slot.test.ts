// The inline one-key slot: the first key of an empty gap lives in a 4-word pair block, not a level bin.
// Insert, update, remove and scans across it, its turn into a level bin, and retraining over it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FineIndex } from './fine-index.js';
import { PairRun, SeededRandom } from './u64.js';

/** An index over keys 0, 100, 200, ... (n keys) with value = key + 1. */
function spaced(n: number, options = {}): FineIndex {
  const idx = FineIndex.create(options);
  const run = new PairRun(n);
  for (let i = 0; i < n; i++) run.push(0, i * 100, 0, i * 100 + 1);
  idx.bulkLoadRun(run);
  return idx;
}

test('one key in a gap: insert, read, update, scan around it, remove', () => {
  const idx = spaced(10);
  assert.equal(idx.insert(50n, 7n), true);
  assert.equal(idx.insert(50n, 8n), false);
  assert.equal(idx.get(50n), 7n);
  assert.equal(idx.get(51n), undefined);
  assert.equal(idx.update(51n, 1n), false);
  assert.equal(idx.update(50n, 9n), true);
  idx.set(50n, 10n);
  assert.equal(idx.get(50n), 10n);
  assert.equal(idx.size, 11);
  assert.deepEqual(idx.scan(0n, 3), [[0n, 1n], [50n, 10n], [100n, 101n]]);
  assert.deepEqual(idx.scan(50n, 2), [[50n, 10n], [100n, 101n]]);
  assert.deepEqual(idx.scan(51n, 1), [[100n, 101n]]);
  assert.deepEqual(idx.range(1n, 99n), [[50n, 10n]]);
  assert.equal(idx.delete(51n), false);
  assert.equal(idx.delete(50n), true);
  assert.equal(idx.delete(50n), false);
  assert.equal(idx.get(50n), undefined);
  assert.equal(idx.size, 10);
  assert.deepEqual(idx.range(1n, 99n), []);
});

test('below the first and above the last trained key', () => {
  const idx = FineIndex.create();
  idx.bulkLoad([[1000n, 1n], [2000n, 2n]]);
  idx.set(5n, 3n);
  idx.set(9999n, 4n);
  assert.deepEqual(idx.scan(0n, 10), [[5n, 3n], [1000n, 1n], [2000n, 2n], [9999n, 4n]]);
  assert.equal(idx.delete(5n), true);
  assert.equal(idx.delete(9999n), true);
  assert.deepEqual(idx.scan(0n, 10), [[1000n, 1n], [2000n, 2n]]);
});

test('a second key turns the pair into a level bin; removing both empties the gap', () => {
  const idx = spaced(10);
  idx.set(150n, 1n);
  idx.set(120n, 2n); // below the pair's key
  idx.set(180n, 3n); // above it
  assert.deepEqual(idx.range(101n, 199n), [[120n, 2n], [150n, 1n], [180n, 3n]]);
  assert.equal(idx.insert(150n, 9n), false);
  for (const k of [150n, 120n, 180n]) assert.equal(idx.delete(k), true);
  assert.deepEqual(idx.range(101n, 199n), []);
  idx.set(160n, 4n); // the emptied gap takes a pair again
  assert.deepEqual(idx.range(101n, 199n), [[160n, 4n]]);
  assert.equal(idx.size, 11);
});

test('one key per gap costs a pair block, not a level bin', () => {
  const idx = spaced(20_000);
  const before = idx.stats().arenaBytes;
  for (let i = 0; i < 10_000; i++) idx.set(BigInt(i * 100 + 50), BigInt(i));
  const perKey = (idx.stats().arenaBytes - before) / 10_000;
  // A pair block is 16 bytes; a level bin would be a root and a child, over 300 bytes.
  assert.ok(perKey < 64, `grew ${perKey} bytes per key`);
  for (let i = 0; i < 10_000; i++) assert.equal(idx.get(BigInt(i * 100 + 50)), BigInt(i));
});

test('retraining folds pairs and bins into models (Map oracle)', () => {
  const idx = spaced(5000, { epsilon: 4, maxModelKeys: 128 });
  const oracle = new Map<bigint, bigint>();
  for (let i = 0; i < 5000; i++) oracle.set(BigInt(i * 100), BigInt(i * 100 + 1));
  const r = new SeededRandom(9);
  for (let op = 0; op < 40_000; op++) {
    const k = BigInt(r.int(500_000));
    const d = r.int(10);
    if (d < 6) {
      idx.set(k, BigInt(op));
      oracle.set(k, BigInt(op));
    } else if (d < 9) assert.equal(idx.delete(k), oracle.delete(k));
    else assert.equal(idx.get(k), oracle.get(k));
  }
  const want = [...oracle.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  assert.equal(idx.size, want.length);
  assert.deepEqual(idx.scan(0n, Number.MAX_SAFE_INTEGER), want);
  assert.ok(idx.stats().modelRetrains > 0, 'model retraining ran');
});
