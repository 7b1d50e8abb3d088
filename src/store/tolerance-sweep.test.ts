// sweepTolerances on a real MNIST checkpoint, with held-back accuracy as the metric: ratios grow with the
// tolerance, every max error stays within its bound, the metric of a loose bound stays near the original's,
// the store is left without the sweep's temporary models, and bad arguments fail with INVALID_ARGUMENT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../errors.js';
import { NeurStore } from './neur-store.js';
import { sweepTolerances } from './tolerance-sweep.js';
import { loadMnistSplit } from './testing/mnist-digits.js';
import { mnistAccuracy, readMnistSafetensors } from './testing/mnist-eval.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const MNIST = join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors');
const { test: heldBack } = loadMnistSplit((f) => fixturePath('mnist', f));
const accuracyOf = (path: string): number => {
  const w = readMnistSafetensors(path);
  return mnistAccuracy(w.l1, w.l2, heldBack);
};

test('a sweep reports growing ratios, bounded errors and the metric after a real round trip', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'));
  try {
    await store.put(join(SHARED_MNIST_DIR, 'model_6682ba5.safetensors'), { name: 'kept' }); // a user model the sweep must leave alone
    const before = accuracyOf(MNIST);
    const tolerances = [1e-4, 1e-3, 1e-2];
    const seen: string[] = [];
    const rows = await sweepTolerances(store, MNIST, {
      mode: 'default', tolerances, evaluate: async (p) => (seen.push(p), accuracyOf(p)),
    });
    assert.deepEqual(rows.map((r) => r.tolerance), tolerances);
    assert.equal(seen.length, 3);
    for (const r of rows) {
      assert.ok(r.maxError > 0 && r.maxError <= r.tolerance, `max error ${r.maxError} at ${r.tolerance}`);
      assert.ok(r.ratio > 1, `ratio ${r.ratio} at ${r.tolerance}`);
      assert.ok(r.metric !== undefined && r.metric >= 0 && r.metric <= 1);
      // Measured: 91.75 / 91.65 / 88.15% against 91.70% before; 1e-2 is too loose for this model.
      if (r.tolerance <= 1e-3) assert.ok(Math.abs(r.metric - before) <= 0.002, `accuracy ${r.metric} vs ${before} at ${r.tolerance}`);
    }
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i]!.ratio > rows[i - 1]!.ratio, 'ratio grows with tolerance');
    assert.deepEqual((await store.list()).map((m) => m.name), ['kept']);
    // The sweep's temporary records are gone: a second sweep does not see them as duplicates.
    const again = await sweepTolerances(store, MNIST, { tolerances });
    assert.deepEqual(again.map((r) => r.storedBytes), rows.map((r) => r.storedBytes));
  } finally {
    await store.close();
  }
});

test('without evaluate nothing is stored; paper mode sweeps too', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'));
  try {
    const rows = await sweepTolerances(store, MNIST, { mode: 'paper', tolerances: [1e-3, 1e-2] });
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.metric === undefined && r.maxError <= r.tolerance));
    // A lone model in paper mode is all new 8-bit bases (error 3.7e-4 here): both bounds store the same bytes.
    assert.ok(rows[1]!.ratio >= rows[0]!.ratio && rows[0]!.ratio > 3);
    assert.equal((await store.stats()).models, 0);
  } finally {
    await store.close();
  }
});

test('bad tolerances, modes and metrics fail with INVALID_ARGUMENT and leave nothing behind', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'));
  try {
    const bad = [
      { tolerances: [] },
      { tolerances: [0] },
      { tolerances: [1e-3, Number.NaN] },
      { tolerances: [Infinity] },
      { mode: 'lossless' as 'default' },
      { tolerances: [1e-3], evaluate: async () => Number.NaN },
    ];
    for (const o of bad) {
      await assert.rejects(sweepTolerances(store, MNIST, o), (e) => isNeurStoreError(e) && e.code === 'INVALID_ARGUMENT', JSON.stringify(o));
    }
    await assert.rejects(sweepTolerances(store, MNIST, { tolerances: [1e-3], evaluate: async () => { throw new Error('metric broke'); } }), /metric broke/);
    assert.equal((await store.list()).length, 0);
  } finally {
    await store.close();
  }
});
