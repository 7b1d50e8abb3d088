// The MNIST family run by direct computation from the store: each model's weights loaded as int8+delta (the
// family's 8-bit bases are one shared object), x·B computed once for the family's first layer and x·Δ_i per
// model, checked against decode-then-run on the same codes (float rounding only) and against the original
// files' fp32 predictions on held-back digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixturePath } from '../../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../../scripts/mnist-family.js';
import { DenseFamily, type DenseModel } from '../runtime/dense-family.js';
import type { LoadedTensor } from '../runtime/load-forms.js';
import { NeurStore } from './neur-store.js';
import { loadMnistSplit, pickDigits } from './testing/mnist-digits.js';
import { mnistPredictions, readMnistSafetensors } from './testing/mnist-eval.js';
import { tempDir } from './testing/temp-dir.js';

const argmaxRows = (y: Float32Array, classes: number): Uint8Array =>
  Uint8Array.from({ length: y.length / classes }, (_, i) => {
    let best = 0;
    for (let c = 1; c < classes; c++) if (y[i * classes + c]! > y[i * classes + best]!) best = c;
    return best;
  });

test('the MNIST family by direct computation agrees with decode-then-run and with the original files', async (t) => {
  const family = await ensureMnistFamily();
  const { test: all } = loadMnistSplit((f) => fixturePath('mnist', f));
  const digits = pickDigits(all, Uint32Array.from({ length: 500 }, (_, i) => i));
  const store = await NeurStore.init(join(tempDir(), 'store'));
  try {
    for (const [i, path] of family.entries()) await store.put(path, { name: `m${i}`, mode: 'default', tolerance: 1e-3 });
    const models: DenseModel[] = [];
    const firstBases = new Set<unknown>();
    for (const i of family.keys()) {
      const byName = new Map<string, LoadedTensor>();
      for await (const x of store.load(`m${i}`, { mode: 'int8+delta' })) byName.set(x.name, x);
      const layers = ['l1.weight', 'l2.weight'].map((n) => {
        const w = byName.get(n)!;
        assert.equal(w.form, 'int8', n);
        return w.form === 'int8' ? { q8: w.q8, ...(w.delta ? { delta: w.delta } : {}) } : null!;
      });
      firstBases.add(layers[0]!.q8);
      models.push({ layers });
    }
    // Each fine-tune was stored against the nearest stored tensor (the base model's, or an earlier fine-tune's):
    // far fewer distinct first-layer bases than models, so x·B is shared.
    assert.ok(firstBases.size <= family.length / 2, `${firstBases.size} distinct first-layer bases for ${family.length} models`);
    const hidden = models[0]!.layers[0]!.q8.codes.length / 784;
    const net = new DenseFamily(models, [[hidden, 784], [10, hidden]]);
    const direct = net.run(digits.images, digits.count);
    const decoded = net.runDecoded(digits.images, digits.count);
    const lines: string[] = [];
    for (const [i, path] of family.entries()) {
      let diff = 0;
      let peak = 0;
      for (let j = 0; j < direct[i]!.length; j++) {
        diff = Math.max(diff, Math.abs(direct[i]![j]! - decoded[i]![j]!));
        peak = Math.max(peak, Math.abs(decoded[i]![j]!));
      }
      // Same codes, different summation order (x·B + x·Δ vs x·(B + Δ)): float32 rounding only.
      assert.ok(diff <= 1e-4 * Math.max(1, peak), `m${i}: direct vs decoded logits differ by ${diff} (peak ${peak})`);
      const w = readMnistSafetensors(path);
      const want = mnistPredictions(w.l1, w.l2, digits);
      const got = argmaxRows(direct[i]!, 10);
      const same = got.reduce((n, c, j) => n + (c === want[j] ? 1 : 0), 0);
      assert.ok(same >= 0.99 * digits.count, `m${i}: ${same}/${digits.count} predictions agree with the original`);
      lines.push(`m${i}: ${same}/${digits.count} agree, max |direct - decoded| ${diff.toExponential(2)}`);
    }
    t.diagnostic(`${firstBases.size} distinct first-layer bases for ${family.length} models\n${lines.join('\n')}`);
  } finally {
    await store.close();
  }
});
