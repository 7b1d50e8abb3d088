import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from './seeded-random.js';

test('the same seed gives the same sequence, another seed another one', () => {
  const a = new SeededRandom(7);
  const b = new SeededRandom(7);
  const c = new SeededRandom(8);
  const seqA = Array.from({ length: 50 }, () => a.nextU32());
  assert.deepEqual(Array.from({ length: 50 }, () => b.nextU32()), seqA);
  assert.notDeepEqual(Array.from({ length: 50 }, () => c.nextU32()), seqA);
});

test('a generator rebuilt from its state continues the sequence', () => {
  const a = new SeededRandom(123);
  for (let i = 0; i < 17; i++) a.next();
  const resumed = new SeededRandom(a.state);
  assert.deepEqual(Array.from({ length: 20 }, () => resumed.u64()), Array.from({ length: 20 }, () => a.u64()));
});

test('uniform values stay in range and gaussian samples have mean ~0 and variance ~1', () => {
  const r = new SeededRandom(99);
  for (let i = 0; i < 10_000; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    const k = r.int(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
  }
  const n = 20_000;
  let sum = 0;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const g = r.gaussian();
    sum += g;
    sq += g * g;
  }
  assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
  assert.ok(Math.abs(sq / n - 1) < 0.05, `variance ${sq / n}`);
});
