/**
 * loadReport(store, name, options): what `neurstore load` reports. Oracles: the rows the previous CLI printed for
 * the same seeded family (`neurstore load tuned --check --json --mode int8+delta`, `load tuned --json`, `load
 * tuned --check --mode int8`, captured before the code moved here), and errors recomputed in the test from the
 * exact and loaded values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../errors.js';
import { loadedValues, type LoadMode, type LoadedTensor } from '../runtime/load-forms.js';
import { formName, loadReport } from './load-check.js';
import type { NeurStore } from './neur-store.js';
import { maxAbsError } from './tensor-values.js';
import { tinyFamily } from './testing/tiny-family.js';

async function values(store: NeurStore, name: string, mode: LoadMode): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for await (const t of store.load(name, { mode })) out.push(loadedValues(t));
  return out;
}

test('loadReport gives the rows, memory and --check errors the previous CLI printed on the same family', async () => {
  const { store } = await tinyFamily();
  try {
    const delta = await loadReport(store, 'tuned', { mode: 'int8+delta', check: true });
    assert.deepEqual(JSON.parse(JSON.stringify(delta.rows)), [
      { name: 'w', dtype: 'F32', shape: [64, 64], form: 'int8+delta8 (shared base)', memoryBytes: 8192, maxError: 0.00039178505539894104 },
      { name: 'b', dtype: 'F32', shape: [64], form: 'int8+delta8', memoryBytes: 128, maxError: 0.0009638071060180664 },
      { name: 'ids', dtype: 'I32', shape: [4], form: 'bytes', memoryBytes: 16, maxError: 0 },
    ]);
    assert.equal(delta.name, 'tuned');
    assert.equal(delta.mode, 'int8+delta');
    assert.equal(delta.tensors, 3);
    assert.equal(delta.memoryBytes, 8336);
    assert.equal(delta.maxError, 0.0009638071060180664);
    assert.ok(delta.maxError! <= 1e-3, 'int8+delta within the model\'s tolerance');
    assert.equal(delta.session, undefined);
    assert.ok(delta.seconds >= 0);
    assert.equal(typeof delta.cache.hits, 'number');

    const int8 = await loadReport(store, 'tuned', { mode: 'int8', check: true });
    assert.deepEqual(int8.rows.map((r) => [r.form, r.memoryBytes, r.maxError!.toExponential(2)]), [
      ['int8 (shared base)', 4096, '2.39e-3'], ['int8', 64, '1.91e-3'], ['bytes', 16, '0.00e+0'],
    ]);
    assert.equal(int8.maxError!.toExponential(2), '2.39e-3');
    // The errors recomputed here from the exact and the 8-bit values.
    const exact = await values(store, 'tuned', 'exact');
    const eight = await values(store, 'tuned', 'int8');
    assert.deepEqual(int8.rows.map((r) => r.maxError), exact.map((x, i) => maxAbsError(eight[i]!, x)));

    const fp32 = await loadReport(store, 'tuned');
    assert.equal(fp32.mode, 'fp32', 'fp32 unless told');
    assert.deepEqual(JSON.parse(JSON.stringify(fp32.rows)), [
      { name: 'w', dtype: 'F32', shape: [64, 64], form: 'f32', memoryBytes: 16384 },
      { name: 'b', dtype: 'F32', shape: [64], form: 'f32', memoryBytes: 256 },
      { name: 'ids', dtype: 'I32', shape: [4], form: 'bytes', memoryBytes: 16 },
    ]);
    assert.equal(fp32.maxError, undefined, 'no errors without check');
    assert.equal(fp32.memoryBytes, 16656);

    const checked = await loadReport(store, 'tuned', { mode: 'fp32', check: true });
    assert.deepEqual(checked.rows.map((r) => r.maxError), [0, 0, 0], 'fp32 is the exact values');

    let progress = 0;
    await loadReport(store, 'tuned', { mode: 'fp16', onProgress: () => progress++ });
    assert.ok(progress > 0, 'progress is reported');

    await assert.rejects(loadReport(store, 'tuned', { session: true }),
      (e) => isNeurStoreError(e, 'NOT_SUPPORTED') && /a safetensors model has no runtime here/.test((e as Error).message));
    await assert.rejects(loadReport(store, 'nope'), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  } finally {
    await store.close();
  }
});

test('formName: the form, the width of the delta codes and a shared base', () => {
  const q8 = { codes: new Int8Array(4), scale: 1, zero: 0 };
  const t = (extra: object) => ({ index: 0, name: 't', dtype: 'F32', shape: [4], ...extra }) as unknown as LoadedTensor;
  assert.equal(formName(t({ form: 'f32', values: new Float32Array(4) })), 'f32');
  assert.equal(formName(t({ form: 'int8', q8 })), 'int8');
  assert.equal(formName(t({ form: 'int8', q8, baseKey: 5n })), 'int8 (shared base)');
  assert.equal(formName(t({ form: 'int8', q8, delta: { codes: new Int16Array(4), scale: 1 } })), 'int8+delta16');
  assert.equal(formName(t({ form: 'int8', q8, delta: { codes: new Int32Array(4), scale: 1 }, baseKey: 1n })), 'int8+delta32 (shared base)');
});
