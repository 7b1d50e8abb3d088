/**
 * Trains a real MNIST model family for the store's tests and benchmarks: a base classifier of the same
 * architecture as the shared tinygrad checkpoints (`logits = l2 · leaky_relu(l1 · x)`, no biases, F32
 * `l1.weight` [128, 784] and `l2.weight` [10, 128]) and fine-tunes of it, each starting from the base
 * weights with a small learning rate, so their tensors stay close to the base (what delta compression is for).
 *
 * Training uses @tensorflow/tfjs on its pure-JS cpu backend, seeded end to end (own initializer, seeded
 * shuffles and augmentations), on the training split of `mnist-digits.ts`; accuracy is measured on the
 * held-back test split by the plain-TS `mnist-eval.ts`. Files go to `.cache/mnist-family/` with metadata
 * {variant, parent, recipe}; `family.json` records a hash of all recipes, and the family is retrained only
 * when that file or a model file is missing or the hash differs.
 *
 * Usage: `tsx scripts/mnist-family.ts [--force]` prints the family table (training first if needed).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFixtures, fixturePath, PROJECT_ROOT, SHARED_MNIST_DIR } from './fetch-fixtures.js';
import { SeededRandom } from '../src/env/seeded-random.js';
import {
  loadMnistSplit, MNIST_CLASSES, MNIST_PIXELS, MNIST_SPLIT_SEED, MNIST_TEST_COUNT, noisyDigits, seededPermutation,
  selectDigits, shiftDigits, type MnistDigits,
} from '../src/store/testing/mnist-digits.js';
import { mnistAccuracy, readMnistSafetensors, TINYGRAD_LEAKY_SLOPE, type MnistWeights } from '../src/store/testing/mnist-eval.js';
import { writeSafetensorsFile } from '../src/store/testing/safetensors-files.js';

/** Where the family lives (git-ignored). */
export const MNIST_FAMILY_DIR = join(PROJECT_ROOT, '.cache', 'mnist-family');
/** Bump when the training code changes in a way the recipes do not show, to force a retrain. */
const TRAINER_VERSION = 1;
const HIDDEN = 128;

/** How one member of the family is made. `parent` is '' for the base, else the base's name. */
export interface MnistRecipe {
  readonly variant: string;
  readonly parent: string;
  readonly epochs: number;
  readonly learningRate: number;
  readonly batch: number;
  /** Training data: all digits, a digit subset, or an augmentation of all digits. */
  readonly data: 'all' | 'digits-0-4' | 'digits-5-9' | 'shift-2px' | 'noise-0.3';
  /** When false, `l1.weight` is frozen (only the head trains). */
  readonly trainL1: boolean;
  readonly seed: number;
}

const ft = (variant: string, r: Partial<MnistRecipe>, seed: number): MnistRecipe => ({
  variant, parent: 'base', epochs: 1, learningRate: 2e-4, batch: 64, data: 'all', trainL1: true, seed, ...r,
});

/** The family, base first. Fine-tunes use Adam at 2e-4 for one epoch unless their name says otherwise. */
export const MNIST_RECIPES: readonly MnistRecipe[] = [
  { variant: 'base', parent: '', epochs: 2, learningRate: 2e-3, batch: 64, data: 'all', trainL1: true, seed: 1 },
  ft('digits-0-4', { data: 'digits-0-4' }, 2),
  ft('more-epochs', { epochs: 2 }, 3),
  ft('shifted', { data: 'shift-2px' }, 4),
  ft('noisy', { data: 'noise-0.3' }, 5),
  ft('high-lr', { learningRate: 1e-3 }, 6),
  ft('head-only', { trainL1: false, learningRate: 1e-3 }, 7),
];

/** Hash of everything that determines the files: the recipes, the split and the trainer version. */
export function mnistRecipeHash(): string {
  const what = { TRAINER_VERSION, MNIST_SPLIT_SEED, MNIST_TEST_COUNT, TINYGRAD_LEAKY_SLOPE, HIDDEN, MNIST_RECIPES };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex');
}

/** One row of the family table. */
export interface MnistFamilyRow {
  readonly variant: string;
  readonly path: string;
  readonly steps: number;
  readonly testAccuracy: number;
  /** Max and mean |w - base| of l1.weight and l2.weight (0 for the base). */
  readonly maxDelta: readonly [number, number];
  readonly meanDelta: readonly [number, number];
}

interface Manifest {
  readonly hash: string;
  readonly rows: readonly MnistFamilyRow[];
  readonly trainSeconds: number;
}

function trainingData(train: MnistDigits, r: MnistRecipe, rng: SeededRandom): MnistDigits {
  switch (r.data) {
    case 'all': return train;
    case 'digits-0-4': return selectDigits(train, (d) => d <= 4);
    case 'digits-5-9': return selectDigits(train, (d) => d >= 5);
    case 'shift-2px': return shiftDigits(train, 2, rng);
    case 'noise-0.3': return noisyDigits(train, 0.3, rng);
  }
}

/** Kaiming-uniform-style init (bound 1/sqrt(fanIn)), like tinygrad's Linear, from a seeded generator. */
function initWeights(seed: number): MnistWeights {
  const rng = new SeededRandom(seed);
  const fill = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => (2 * rng.next() - 1) / Math.sqrt(fanIn));
  return { l1: fill(HIDDEN * MNIST_PIXELS, MNIST_PIXELS), l2: fill(MNIST_CLASSES * HIDDEN, HIDDEN) };
}

type Tf = typeof import('@tensorflow/tfjs');

async function loadTf(): Promise<Tf> {
  const tf = await import('@tensorflow/tfjs');
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  return tf;
}

/** Trains from `start` by recipe `r`; returns the new weights and the number of optimizer steps. */
function trainOne(tf: Tf, start: MnistWeights, train: MnistDigits, r: MnistRecipe): { w: MnistWeights; steps: number } {
  const rng = new SeededRandom(r.seed);
  const w1 = tf.variable(tf.tensor2d(start.l1, [HIDDEN, MNIST_PIXELS]), r.trainL1, `l1_${r.variant}`);
  const w2 = tf.variable(tf.tensor2d(start.l2, [MNIST_CLASSES, HIDDEN]), true, `l2_${r.variant}`);
  const opt = tf.train.adam(r.learningRate);
  const vars = r.trainL1 ? [w1, w2] : [w2];
  let steps = 0;
  for (let e = 0; e < r.epochs; e++) {
    const data = trainingData(train, r, rng);
    const order = seededPermutation(data.count, rng);
    for (let at = 0; at + r.batch <= data.count; at += r.batch) {
      const x = new Float32Array(r.batch * MNIST_PIXELS);
      const y = new Float32Array(r.batch * MNIST_CLASSES);
      for (let i = 0; i < r.batch; i++) {
        const k = order[at + i]!;
        x.set(data.images.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
        y[i * MNIST_CLASSES + data.labels[k]!] = 1;
      }
      tf.tidy(() => {
        const xs = tf.tensor2d(x, [r.batch, MNIST_PIXELS]);
        const ys = tf.tensor2d(y, [r.batch, MNIST_CLASSES]);
        opt.minimize(() => {
          const h = tf.leakyRelu(tf.matMul(xs, w1, false, true), TINYGRAD_LEAKY_SLOPE);
          return tf.losses.softmaxCrossEntropy(ys, tf.matMul(h, w2, false, true));
        }, false, vars);
      });
      steps++;
    }
  }
  const w = { l1: w1.dataSync() as Float32Array, l2: w2.dataSync() as Float32Array };
  w1.dispose();
  w2.dispose();
  opt.dispose();
  return { w: { l1: Float32Array.from(w.l1), l2: Float32Array.from(w.l2) }, steps };
}

function deltas(a: Float32Array, b: Float32Array): [number, number] {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return [max, sum / a.length];
}

async function saveModel(path: string, w: MnistWeights, r: MnistRecipe): Promise<void> {
  const bytes = (f: Float32Array) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeSafetensorsFile(tmp, [
    { name: 'l1.weight', dtype: 'F32', shape: [HIDDEN, MNIST_PIXELS], bytes: bytes(w.l1) },
    { name: 'l2.weight', dtype: 'F32', shape: [MNIST_CLASSES, HIDDEN], bytes: bytes(w.l2) },
  ], { variant: r.variant, parent: r.parent, recipe: JSON.stringify(r) });
  renameSync(tmp, path);
}

/** Trains every recipe, writes the files and the manifest; returns the manifest. */
async function trainFamily(log: (s: string) => void): Promise<Manifest> {
  const started = Date.now();
  const tf = await loadTf();
  const { train, test } = loadMnistSplit((f) => fixturePath('mnist', f));
  const manifestFile = join(MNIST_FAMILY_DIR, 'family.json');
  // The old manifest must not vouch for files while they are being replaced.
  rmSync(manifestFile, { force: true });
  const rows: MnistFamilyRow[] = [];
  let base: MnistWeights | undefined;
  for (const r of MNIST_RECIPES) {
    const t0 = Date.now();
    const { w, steps } = trainOne(tf, base ?? initWeights(r.seed), train, r);
    base ??= w;
    const path = join(MNIST_FAMILY_DIR, `${r.variant}.safetensors`);
    await saveModel(path, w, r);
    const d1 = deltas(w.l1, base.l1);
    const d2 = deltas(w.l2, base.l2);
    rows.push({ variant: r.variant, path, steps, testAccuracy: mnistAccuracy(w.l1, w.l2, test), maxDelta: [d1[0], d2[0]], meanDelta: [d1[1], d2[1]] });
    log(`trained ${r.variant}: ${steps} steps in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const manifest = { hash: mnistRecipeHash(), rows, trainSeconds: (Date.now() - started) / 1000 };
  writeFileSync(`${manifestFile}.tmp-${process.pid}`, JSON.stringify(manifest, null, 1));
  renameSync(`${manifestFile}.tmp-${process.pid}`, manifestFile);
  return manifest;
}

function cachedManifest(): Manifest | undefined {
  const file = join(MNIST_FAMILY_DIR, 'family.json');
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    const complete = m.rows.length === MNIST_RECIPES.length && m.rows.every((r) => existsSync(join(MNIST_FAMILY_DIR, `${r.variant}.safetensors`)));
    return m.hash === mnistRecipeHash() && complete ? m : undefined;
  } catch {
    return undefined;
  }
}

const LOCK_DIR = join(MNIST_FAMILY_DIR, '.training.lock');
const STALE_LOCK_MS = 15 * 60_000;

function holderIsGone(): boolean {
  try {
    if (Date.now() - statSync(LOCK_DIR).mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(readFileSync(join(LOCK_DIR, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // ESRCH: the trainer died without unlocking. ENOENT: it has not written its pid yet, or just unlocked.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes the training lock (one trainer across processes); false while another live process holds it. */
function tryLock(): boolean {
  mkdirSync(MNIST_FAMILY_DIR, { recursive: true });
  try {
    mkdirSync(LOCK_DIR);
    writeFileSync(join(LOCK_DIR, 'pid'), String(process.pid));
    return true;
  } catch {
    if (holderIsGone()) rmSync(LOCK_DIR, { recursive: true, force: true });
    return false;
  }
}

async function familyManifest(force: boolean, log: (s: string) => void): Promise<Manifest> {
  for (let waited = false; ; waited = true) {
    const m = force ? undefined : cachedManifest();
    if (m) return m;
    if (tryLock()) {
      try {
        return (!force && cachedManifest()) || (await trainFamily(log));
      } finally {
        rmSync(LOCK_DIR, { recursive: true, force: true });
      }
    }
    if (!waited) log('another process is training the MNIST family; waiting');
    await new Promise((res) => setTimeout(res, 2000));
  }
}

/**
 * Paths of the family's safetensors files, base first then the fine-tunes in `MNIST_RECIPES` order, training
 * them first (a few minutes) only when the cache is missing or stale. Safe to call from parallel processes:
 * one trains, the others wait. Throws when the digit fixtures are missing and cannot be fetched.
 */
export async function ensureMnistFamily(log: (s: string) => void = () => {}): Promise<string[]> {
  ensureFixtures(log);
  const m = await familyManifest(false, log);
  return m.rows.map((r) => join(MNIST_FAMILY_DIR, `${r.variant}.safetensors`));
}

/** Paths of the family (base first) when the cache is complete and current, else undefined; never trains. */
export function cachedMnistFamily(): string[] | undefined {
  return cachedManifest()?.rows.map((r) => join(MNIST_FAMILY_DIR, `${r.variant}.safetensors`));
}

/** The family table (from the manifest, so as measured at training time), training first if needed. */
export async function mnistFamilyTable(force = false, log: (s: string) => void = () => {}): Promise<{ rows: readonly MnistFamilyRow[]; trainSeconds: number }> {
  ensureFixtures(log);
  return familyManifest(force, log);
}

/** Accuracy of `path` on the test split transformed like the recipe's training data (shifted, noisy, 0-4...). */
function ownDataAccuracy(path: string, r: MnistRecipe, test: MnistDigits): number {
  const w = readMnistSafetensors(path);
  return mnistAccuracy(w.l1, w.l2, trainingData(test, r, new SeededRandom(99)));
}

function printTable(rows: readonly MnistFamilyRow[], test: MnistDigits): void {
  const f = (x: number) => x.toExponential(2);
  const pct = (x: number) => `${(100 * x).toFixed(2).padStart(6)}%`;
  const base = readMnistSafetensors(rows[0]!.path);
  console.log('variant        steps  test acc  own data (base)    max|dl1|  max|dl2|  mean|dl1| mean|dl2|');
  for (const [i, r] of rows.entries()) {
    const recipe = MNIST_RECIPES[i]!;
    const own = ownDataAccuracy(r.path, recipe, test);
    const baseOwn = mnistAccuracy(base.l1, base.l2, trainingData(test, recipe, new SeededRandom(99)));
    console.log(`${r.variant.padEnd(14)} ${String(r.steps).padStart(5)}  ${pct(r.testAccuracy)}  ${pct(own)} (${pct(baseOwn)})  ` +
      `${f(r.maxDelta[0])}  ${f(r.maxDelta[1])}  ${f(r.meanDelta[0])}  ${f(r.meanDelta[1])}`);
  }
  for (const name of ['model_4bc2046', 'model_4fe0665', 'model_6682ba5']) {
    const w = readMnistSafetensors(join(SHARED_MNIST_DIR, `${name}.safetensors`));
    console.log(`${name.padEnd(14)} ${'-'.padStart(5)}  ${pct(mnistAccuracy(w.l1, w.l2, test))}  (shared tinygrad checkpoint)`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { rows, trainSeconds } = await mnistFamilyTable(process.argv.includes('--force'), (s) => console.log(s));
  console.log(`family in ${MNIST_FAMILY_DIR} (trained in ${trainSeconds.toFixed(1)} s)`);
  printTable(rows, loadMnistSplit((f) => fixturePath('mnist', f)).test);
}
