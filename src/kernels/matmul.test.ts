/**
 * The direct matmul kernels (matmulU8/S8/S16/F32): wasm and TS give the same bits on seeded random shapes
 * (m, k, n not multiples of 4, m = 1, k = 1, empty dimensions, both sides of the wasm row chunk) and on
 * extreme values (huge magnitudes, overflow, infinities, subnormals; NaN results compared as NaN, see
 * kernel-types.ts); each implementation agrees with a float64 brute-force oracle within the float32
 * summation bound; U8 agrees with decode-then-multiply (dequantize8 + matmulF32); shapes are checked; and on
 * a real MNIST checkpoint the U8 path predicts the same digits as float64 inference on the dequantized weights.
 *
 * Oracle bound: with u = 2^-24 and γ(n) = n·u / (1 - n·u), every output y_j of a kernel that sums k terms
 * satisfies |y_j - exact_j| <= γ(k + 2) · Σ_t |x[t]| · M[t][j], where M = |min| + |code|·|scale| (U8, S8, S16;
 * min = 0 for the scaled ones) or |w| (F32): k - 1 rounded additions, the product rounding, and at most two
 * more roundings in the finish. Accumulating adds one rounding of the sum with the old out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TS_KERNELS, wasmKernels, type Kernels } from './kernels.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';
import { quantize8 } from '../codecs/quant8.js';
import { SHARED_MNIST_DIR, fixturePath } from '../../scripts/fetch-fixtures.js';
import { loadMnistSplit, pickDigits } from '../store/testing/mnist-digits.js';
import { TINYGRAD_LEAKY_SLOPE, mnistPredictions, readMnistSafetensors } from '../store/testing/mnist-eval.js';

type Kind = 'U8' | 'S8' | 'S16' | 'F32';
const KINDS: readonly Kind[] = ['U8', 'S8', 'S16', 'F32'];

/** One matmul call's inputs; `w` holds the codes (or float32 weights for F32), `out0` the prior out. */
interface Problem {
  kind: Kind; m: number; k: number; n: number;
  x: Float32Array; w: Uint8Array | Int8Array | Int16Array | Float32Array;
  min: number; scale: number; out0: Float32Array;
}

const IMPLS: ReadonlyArray<[string, Kernels]> = [['ts', TS_KERNELS], ...(wasmKernels() ? [['wasm', wasmKernels()!] as [string, Kernels]] : [])];

function run(kern: Kernels, p: Problem, accumulate: boolean): Float32Array {
  const out = p.out0.slice();
  const { x, m, k, n, w, min, scale } = p;
  if (p.kind === 'U8') kern.matmulU8(x, m, k, w as Uint8Array, n, min, scale, out, accumulate);
  else if (p.kind === 'S8') kern.matmulS8(x, m, k, w as Int8Array, n, scale, out, accumulate);
  else if (p.kind === 'S16') kern.matmulS16(x, m, k, w as Int16Array, n, scale, out, accumulate);
  else kern.matmulF32(x, m, k, w as Float32Array, n, out, accumulate);
  return out;
}

/** A seeded problem; `pick` draws x values (default: gaussians of random magnitude). */
function problem(rng: SeededRandom, kind: Kind, m: number, k: number, n: number, pick?: () => number): Problem {
  const mag = () => rng.gaussian() * 10 ** (rng.int(7) - 3);
  const x = Float32Array.from({ length: m * k }, pick ?? mag);
  const len = k * n;
  const w = kind === 'U8' ? rng.bytes(len)
    : kind === 'S8' ? new Int8Array(rng.bytes(len).buffer)
      : kind === 'S16' ? Int16Array.from({ length: len }, () => rng.int(65536) - 32768)
        : Float32Array.from({ length: len }, mag);
  // min and scale are doubles that float32 does not hold exactly: the kernels must round them the same way.
  const min = (rng.next() - 0.5) * 4;
  const scale = rng.next() * 0.05;
  return { kind, m, k, n, x, w, min, scale, out0: Float32Array.from({ length: m * n }, mag) };
}

/** Equal bits, except that any NaN equals any NaN (wasm does not pin NaN payloads). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) assert.fail(`${what}: element ${i}: ${a[i]} vs ${b[i]}`);
  }
}

const U = 2 ** -24;
const gamma = (n: number) => (n * U) / (1 - n * U);

/** Float64 brute force: the exact-ish y (plus the prior out when accumulating) and the bound above. */
function oracle(p: Problem, accumulate: boolean): { y: Float64Array; bound: Float64Array } {
  const { m, k, n, x, w } = p;
  const min = p.kind === 'U8' ? Math.fround(p.min) : 0;
  const scale = p.kind === 'F32' ? 1 : Math.fround(p.scale);
  const y = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let mag = 0;
      for (let t = 0; t < k; t++) {
        const c = w[t * n + j]!;
        const xv = x[i * k + t]!;
        s += xv * (min + c * scale);
        mag += Math.abs(xv) * (Math.abs(min) + Math.abs(c * scale));
      }
      let b = gamma(k + 2) * mag * 1.001 + 1e-300;
      if (accumulate) {
        s += p.out0[i * n + j]!;
        b += U * (Math.abs(s) + b);
      }
      y[i * n + j] = s;
      bound[i * n + j] = b;
    }
  }
  return { y, bound };
}

function assertWithin(got: Float32Array, want: Float64Array, bound: Float64Array, what: string): void {
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= bound[i]!)) assert.fail(`${what}: element ${i}: ${got[i]} vs ${want[i]} (error ${err} > bound ${bound[i]})`);
  }
}

/** m, k, n triples: ragged sizes, 1s, empty dimensions, and m across the wasm 4-row blocks and 64-row chunk. */
function shapes(): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [[0, 3, 5], [3, 0, 5], [3, 5, 0], [5, 0, 9], [6, 4, 0], [70, 33, 19], [133, 9, 24]];
  for (const m of [1, 2, 3, 4, 5, 8, 9, 67]) {
    for (const k of [1, 2, 5, 16, 37]) for (const n of [1, 3, 4, 5, 8, 9, 12, 17, 33]) out.push([m, k, n]);
  }
  return out;
}

test('wasm and TS matmul kernels give identical bits on seeded random shapes', (t) => {
  const w = wasmKernels();
  if (!w) return t.skip('wasm not available');
  const rng = new SeededRandom(603);
  for (const [m, k, n] of shapes()) {
    for (const kind of KINDS) {
      const p = problem(rng, kind, m, k, n);
      for (const acc of [false, true]) assertSameBits(run(w, p, acc), run(TS_KERNELS, p, acc), `${kind} m=${m} k=${k} n=${n} acc=${acc}`);
    }
  }
});

test('wasm and TS matmul kernels agree on extreme values: overflow, infinities, subnormals, signed zeros', (t) => {
  const w = wasmKernels();
  if (!w) return t.skip('wasm not available');
  const rng = new SeededRandom(604);
  const extremes = [3e38, -3e38, 1e30, -1e-30, 1e-45, -1e-40, Infinity, -Infinity, 0, -0];
  // Regimes: sums near the float32 limits (some overflow), products in the subnormal range, and mixed.
  const regimes = [() => rng.gaussian() * 2e19, () => rng.gaussian() * 1e-22,
    () => (rng.next() < 0.15 ? extremes[rng.int(extremes.length)]! : rng.gaussian())];
  for (const [m, k, n] of [[1, 1, 1], [5, 3, 9], [9, 17, 13], [4, 8, 16], [67, 5, 11]] as const) {
    for (const [kind, pick] of KINDS.flatMap((kind) => regimes.map((pick) => [kind, pick] as const))) {
      const p = problem(rng, kind, m, k, n, pick);
      if (kind === 'F32') p.w = Float32Array.from(p.w, (v, i) => (i % 3 === 0 ? pick() : v));
      else if (kind === 'U8') p.w = Uint8Array.from(p.w, (v, i) => (i % 4 === 0 ? 255 : i % 4 === 1 ? 0 : v));
      p.out0 = p.out0.map(() => pick());
      for (const [min, scale] of [[p.min, p.scale], [-1e38, 1e30], [0, 3e38], [-0, 1e-45]] as const) {
        const q = { ...p, min, scale };
        for (const acc of [false, true]) assertSameBits(run(w, q, acc), run(TS_KERNELS, q, acc), `${kind} m=${m} k=${k} n=${n} min=${min} scale=${scale} acc=${acc}`);
      }
    }
  }
});

test('each implementation matches the float64 oracle within the float32 summation bound', () => {
  const rng = new SeededRandom(605);
  const cases: Array<[number, number, number]> = [[1, 1, 1], [3, 7, 5], [9, 33, 17], [70, 120, 21], [4, 784, 10]];
  for (const [name, kern] of IMPLS) {
    for (const [m, k, n] of cases) {
      for (const kind of KINDS) {
        const p = problem(rng, kind, m, k, n);
        for (const acc of [false, true]) {
          const { y, bound } = oracle(p, acc);
          assertWithin(run(kern, p, acc), y, bound, `${name} ${kind} m=${m} k=${k} n=${n} acc=${acc}`);
        }
      }
    }
  }
});

test('a hand-checked example: exact small values give exact results', () => {
  // W = 0.5 + codes * 0.25 = [[0.75, 1], [1.25, 1.5]]; [1, 2] · W = [3.25, 4]; [-1, 4] · W = [4.25, 5].
  const x = Float32Array.of(1, 2, -1, 4);
  for (const [name, kern] of IMPLS) {
    const out = Float32Array.of(10, 20, 30, 40);
    kern.matmulU8(x, 2, 2, Uint8Array.of(1, 2, 3, 4), 2, 0.5, 0.25, out, false);
    assert.deepEqual(out, Float32Array.of(3.25, 4, 4.25, 5), name);
    kern.matmulS8(x, 2, 2, Int8Array.of(-1, 2, 3, -4), 2, 0.5, out, true);
    assert.deepEqual(out, Float32Array.of(3.25 + 2.5, 4 - 3, 4.25 + 6.5, 5 - 9), name);
    kern.matmulS16(x, 2, 2, Int16Array.of(-32768, 0, 0, 32767), 2, 1, out, false);
    assert.deepEqual(out, Float32Array.of(-32768, 65534, 32768, 131068), name);
    kern.matmulF32(x.subarray(0, 2), 1, 2, Float32Array.of(0.5, -1, 2, 8), 2, out.subarray(0, 2), false);
    assert.deepEqual(out.subarray(0, 2), Float32Array.of(4.5, 15), name);
  }
});

test('matmulU8 equals matmulF32 over the dequantized W within rounding bounds', () => {
  const rng = new SeededRandom(606);
  for (const [name, kern] of IMPLS) {
    for (const [m, k, n] of [[1, 784, 128], [7, 100, 13], [32, 128, 10]] as const) {
      const src = Float32Array.from({ length: k * n }, () => rng.gaussian() * 0.1 + 0.02);
      const q = quantize8(src);
      const wd = new Float32Array(k * n);
      kern.dequantize8(q.codes, q.min, q.scale, wd);
      const x = Float32Array.from({ length: m * k }, () => rng.gaussian());
      const a = new Float32Array(m * n);
      const b = new Float32Array(m * n);
      kern.matmulU8(x, m, k, q.codes, n, q.min, q.scale, a, false);
      kern.matmulF32(x, m, k, wd, n, b, false);
      // Both are within γ(k+2)·Σ|x|M of the exact product with W; the decoded W is within u·|W| of it.
      const { y, bound } = oracle({ kind: 'U8', m, k, n, x, w: q.codes, min: q.min, scale: q.scale, out0: a }, false);
      const twice = bound.map((v) => 2 * v + U * v);
      assertWithin(a, Float64Array.from(b), twice, `${name} U8 vs dequantized F32 m=${m} k=${k} n=${n}`);
      assertWithin(a, y, bound, `${name} U8 vs oracle`);
    }
  }
});

test('bad shapes throw INVALID_ARGUMENT from both implementations', () => {
  const x = new Float32Array(6);
  const c = new Uint8Array(12);
  const out = new Float32Array(8);
  for (const [name, kern] of IMPLS) {
    const bad: Array<() => void> = [
      () => kern.matmulU8(x.subarray(0, 5), 2, 3, c, 4, 0, 1, out, false),
      () => kern.matmulU8(x, 2, 3, c.subarray(1), 4, 0, 1, out, false),
      () => kern.matmulS8(x, 2, 3, new Int8Array(12), 4, 1, out.subarray(1), false),
      () => kern.matmulS16(x, 2, 3, new Int16Array(12), -4, 1, out, false),
      () => kern.matmulF32(x, 1.5, 4, new Float32Array(16), 4, new Float32Array(6), true),
      () => kern.matmulF32(x, 2, 3, new Float32Array(12), Number.NaN, out, true),
    ];
    for (const [i, f] of bad.entries()) assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'), `${name} case ${i}`);
  }
});

test('real MNIST checkpoint: the U8 kernel path predicts what float64 inference on the dequantized W does', () => {
  const file = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).sort()[0]!;
  const { l1, l2 } = readMnistSafetensors(join(SHARED_MNIST_DIR, file));
  const digits = pickDigits(loadMnistSplit((f) => fixturePath('mnist', f)).test, Array.from({ length: 256 }, (_, i) => i));
  const [hidden, pixels, classes] = [128, 784, 10];
  // l1 is hidden×pixels (PyTorch out×in): W1 = l1ᵀ is pixels×hidden, quantized as the base tensors are.
  const w1 = new Float32Array(pixels * hidden);
  for (let h = 0; h < hidden; h++) for (let p = 0; p < pixels; p++) w1[p * hidden + h] = l1[h * pixels + p]!;
  const q = quantize8(w1);
  const w2 = new Float32Array(hidden * classes);
  for (let c = 0; c < classes; c++) for (let h = 0; h < hidden; h++) w2[h * classes + c] = l2[c * hidden + h]!;
  const deq1 = new Float32Array(hidden * pixels);
  for (let p = 0; p < pixels; p++) for (let h = 0; h < hidden; h++) deq1[h * pixels + p] = q.min + q.codes[p * hidden + h]! * q.scale;
  const want = mnistPredictions(deq1, l2, digits);
  const results: Uint8Array[] = [];
  for (const [, kern] of IMPLS) {
    const h = new Float32Array(digits.count * hidden);
    kern.matmulU8(digits.images, digits.count, pixels, q.codes, hidden, q.min, q.scale, h, false);
    for (let i = 0; i < h.length; i++) if (h[i]! < 0) h[i] = h[i]! * TINYGRAD_LEAKY_SLOPE;
    const logits = new Float32Array(digits.count * classes);
    kern.matmulF32(h, digits.count, hidden, w2, classes, logits, false);
    const pred = Uint8Array.from({ length: digits.count }, (_, i) => {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      return row.indexOf(Math.max(...row));
    });
    const agree = pred.filter((v, i) => v === want[i]).length;
    assert.ok(agree >= digits.count - 2, `${agree} of ${digits.count} predictions agree`);
    results.push(pred);
  }
  if (results.length === 2) assert.deepEqual(results[1], results[0]);
});
