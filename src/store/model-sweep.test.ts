// sweepStoredModel: a lossless model's sweep from the store equals sweepTolerances run directly on the original
// file in an empty store (same rows), with progress per tolerance; the store is left as it was; a TF.js model of
// two files sweeps too; a missing model is NOT_FOUND, bad tolerances INVALID_ARGUMENT, an aborted signal CANCELLED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../errors.js';
import { NeurStore } from './neur-store.js';
import { MODEL_SWEEP_TOLERANCES, sweepStoredModel, type ModelSweepProgress } from './model-sweep.js';
import { sweepTolerances } from './tolerance-sweep.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const MNIST = join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors');
const code = (c: string) => (e: unknown) => isNeurStoreError(e) && e.code === c;

test('a lossless model swept from the store gives the rows of sweepTolerances on its original file', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'), { decodeWorkers: 0 });
  const direct = await NeurStore.init(join(tempDir(), 'direct'), { decodeWorkers: 0 });
  try {
    await store.put(MNIST, { name: 'mnist' });
    await store.put(join(SHARED_MNIST_DIR, 'model_6682ba5.safetensors'), { name: 'other' });
    const before = await store.stats();
    const seen: ModelSweepProgress[] = [];
    const sweep = await sweepStoredModel(store, 'mnist', { onProgress: (p) => seen.push(p) });
    const expected = await sweepTolerances(direct, MNIST, { mode: 'default', tolerances: MODEL_SWEEP_TOLERANCES, seed: 0 });
    assert.deepEqual(sweep.rows, expected);
    assert.deepEqual(sweep.rows.map((r) => r.tolerance), [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]);
    assert.ok(sweep.rows.every((r) => Number.isFinite(r.ratio) && r.ratio > 1 && r.maxError <= r.tolerance), JSON.stringify(sweep.rows));
    assert.ok(sweep.rows[4]!.ratio > sweep.rows[0]!.ratio, 'a looser bound stores fewer bytes');
    assert.equal(sweep.storedMode, 'lossless');
    assert.equal(sweep.storedTolerance, 0);
    assert.deepEqual(seen, [
      ...MODEL_SWEEP_TOLERANCES.map((tolerance, done) => ({ done, total: 5, tolerance })),
      { done: 5, total: 5 },
    ]);
    assert.deepEqual(await store.stats(), before, 'the store is left as it was');
    assert.deepEqual((await store.list()).map((m) => m.name).sort(), ['mnist', 'other']);
  } finally {
    await store.close();
    await direct.close();
  }
});

test('a lossy model sweeps its stored values; a TF.js model of two files sweeps; errors are clear', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'), { decodeWorkers: 0 });
  try {
    await store.put(MNIST, { name: 'lossy', mode: 'default', tolerance: 1e-3 });
    const lossy = await sweepStoredModel(store, 'lossy', { tolerances: [1e-3, 1e-2] });
    assert.equal(lossy.storedTolerance, 1e-3);
    assert.equal(lossy.rows.length, 2);
    assert.ok(lossy.rows.every((r) => r.maxError <= r.tolerance && r.ratio > 1));

    const dir = tempDir();
    copyFileSync(fixturePath('human-models', 'age.json'), join(dir, 'model.json'));
    copyFileSync(fixturePath('human-models', 'age.bin'), join(dir, 'age.bin'));
    await store.put(join(dir, 'model.json'), { name: 'age' });
    const age = await sweepStoredModel(store, 'age', { tolerances: [1e-2] });
    assert.equal(age.rows.length, 1);
    assert.ok(age.rows[0]!.ratio > 1 && age.rows[0]!.maxError <= 1e-2, JSON.stringify(age.rows));

    await assert.rejects(sweepStoredModel(store, 'nope'), code('NOT_FOUND'));
    await assert.rejects(sweepStoredModel(store, 'lossy', { tolerances: [] }), code('INVALID_ARGUMENT'));
    await assert.rejects(sweepStoredModel(store, 'lossy', { tolerances: [1e-3, -1] }), code('INVALID_ARGUMENT'));
    const ac = new AbortController();
    await assert.rejects(sweepStoredModel(store, 'lossy', { signal: ac.signal, onProgress: () => ac.abort() }), code('CANCELLED'));
    assert.deepEqual((await store.list()).map((m) => m.name).sort(), ['age', 'lossy']);
  } finally {
    await store.close();
  }
});
