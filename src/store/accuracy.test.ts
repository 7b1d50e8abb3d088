// What lossy storing costs in accuracy, measured on real models run for real: the MNIST family (base first, so
// fine-tunes are stored as deltas) and the three shared tinygrad checkpoints, classified on the held-back
// digits before and after a round trip through the store at DEFAULT_TOLERANCE in `default` and `paper` mode;
// and the agreement (same argmax on seeded images) of face-api's face_expression and human's faceres-deep,
// run by TF.js, before and after. The oracle is always the original file, run the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../../scripts/mnist-family.js';
import { NeurStore } from './neur-store.js';
import { DEFAULT_TOLERANCE } from './store-types.js';
import { loadMnistSplit } from './testing/mnist-digits.js';
import { mnistAccuracy, readMnistSafetensors } from './testing/mnist-eval.js';
import { compareOutputs, faceExpressionAgreement, graphModelAgreement } from './testing/model-agreement.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const { test: heldBack } = loadMnistSplit((f) => fixturePath('mnist', f));
const accuracyOf = (path: string): number => {
  const w = readMnistSafetensors(path);
  return mnistAccuracy(w.l1, w.l2, heldBack);
};
const tinygrad = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).sort().map((f) => join(SHARED_MNIST_DIR, f));

/** Puts every model into one fresh store in order, gets each back, and returns [before, after] accuracies. */
async function roundTripAccuracy(mode: 'default' | 'paper', models: readonly string[]): Promise<Array<[string, number, number]>> {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  try {
    const out: Array<[string, number, number]> = [];
    for (const [i, path] of models.entries()) {
      const name = `${i}-${basename(path, '.safetensors')}`;
      const put = await store.put(path, { name, mode, tolerance: DEFAULT_TOLERANCE });
      assert.ok(put.maxError <= DEFAULT_TOLERANCE, `${name}: max error ${put.maxError}`);
      const [back] = await store.get(name, join(dir, 'out', `${name}.safetensors`));
      out.push([name, accuracyOf(path), accuracyOf(back!)]);
    }
    return out;
  } finally {
    await store.close();
  }
}

test('MNIST models keep their accuracy within 0.2 points at the default tolerance (default mode)', async () => {
  const family = await ensureMnistFamily();
  assert.equal(family.length, 7);
  const rows = await roundTripAccuracy('default', [...family, ...tinygrad]);
  for (const [name, before, after] of rows) {
    assert.ok(before > 0.75, `${name}: a trained model (${before}; digits-0-4 knows half the digits best)`);
    assert.ok(after >= before - 0.002, `${name}: accuracy ${after} after storing, ${before} before`);
  }
});

test('paper mode keeps MNIST accuracy within half a point at the default tolerance', async () => {
  const family = await ensureMnistFamily();
  const rows = await roundTripAccuracy('paper', [...family, ...tinygrad]);
  for (const [name, before, after] of rows) {
    assert.ok(after >= before - 0.005, `${name}: accuracy ${after} after storing, ${before} before`);
  }
});

/** Stores `path` at the default tolerance and returns the main file of the model got back. */
async function storedCopy(path: string): Promise<string> {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  try {
    const put = await store.put(path, { name: 'm', mode: 'default', tolerance: DEFAULT_TOLERANCE });
    assert.ok(put.maxError <= DEFAULT_TOLERANCE);
    const [back] = await store.get('m', join(dir, 'out', basename(path)));
    return back!;
  } finally {
    await store.close();
  }
}

test('face-api face_expression decides the same on seeded images after storing', async () => {
  const original = fixturePath('face-api', 'face_expression_model-weights_manifest.json');
  const a = await faceExpressionAgreement(original, await storedCopy(original), { count: 4, seed: 11 });
  assert.equal(a.inputs, 4);
  assert.ok(a.classes >= 2, `the images must tell expressions apart (${a.classes} class)`);
  assert.ok(a.agreeing >= 4, `agreement ${a.agreeing}/4`);
  // Its weights are uint8-quantized (stored exactly); only the float32 biases move, by <= 1e-3.
  assert.ok(a.maxOutputDiff < 0.05, `max logit difference ${a.maxOutputDiff}`);
});

test('human faceres-deep mostly decides the same on seeded images after storing', async () => {
  const original = fixturePath('human-models', 'faceres-deep.json');
  // 64x64 instead of 224x224: the network is fully convolutional up to its global pooling, and ~12x faster.
  const a = await graphModelAgreement(original, await storedCopy(original), [64, 64, 3], ['age_pred/Softmax:0', 'gender_pred/Sigmoid:0'], {
    count: 4, seed: 11, relaxInputShape: true, inputRange: [0, 255],
  });
  assert.ok(a.classes >= 2, `the images must tell age classes apart (${a.classes} class)`);
  // This model is sensitive to weight error: its first conv sees pixels in 0..255, so an absolute 1e-3 on the
  // weights moves its outputs by up to ~0.18. Measured at DEFAULT_TOLERANCE: age argmax 3/4 here (6/8 at
  // 224x224); at 1e-4, 7/8 with differences of 0.02. A regression below these figures fails.
  assert.ok(a.agreeing >= 3, `age agreement ${a.agreeing}/4`);
  assert.ok(a.maxOutputDiff < 0.3, `max output difference ${a.maxOutputDiff}`);
});

test('agreement counts argmax flips and the largest difference (the measuring stick itself)', () => {
  const a = Float32Array.from([0.1, 0.9, 0.0, /**/ 0.5, 0.2, 0.3, /**/ 0.3, 0.3, 0.4]);
  const b = Float32Array.from([0.1, 0.8, 0.1, /**/ 0.2, 0.5, 0.3, /**/ 0.3, 0.3, 0.4]);
  const r = compareOutputs(a, b, 3);
  assert.equal(r.agreeing, 2);
  assert.equal(r.classes, 3);
  assert.ok(Math.abs(r.maxOutputDiff - 0.3) < 1e-6);
  assert.equal(compareOutputs(Float32Array.from([0.4, 0.6]), Float32Array.from([0.6, 0.7]), 2).agreeing, 1); // sigmoids split at 0.5
  assert.throws(() => compareOutputs(a, b.subarray(1), 3), /do not split/);
});
