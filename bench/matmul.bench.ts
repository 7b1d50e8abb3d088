/**
 * `npx tsx bench/matmul.bench.ts`: GFLOP/s (2·m·k·n per call) of the direct matmul kernels, plain TS vs wasm
 * SIMD, for each code type at the shapes of the MNIST MLP (784×128, 128×10) and a 1024×1024 layer, batch
 * m = 1, 32, 256. The wasm figures include copying x, W and out in and out of linear memory, as every call
 * does. The "U8 via F32" row is the decode-then-multiply path (dequantize8 into a float32 W, then
 * matmulF32), for comparison with matmulU8. Each cell is the best of several samples of process CPU time
 * (the kernels are single-threaded, so on an idle machine it equals wall time; on a shared one it is not
 * inflated by other processes' time slices).
 * Flags: --quick (fewer, shorter runs), --only SUBSTRING (kernel rows whose name contains it).
 */
import { TS_KERNELS, kernelsBackend, wasmKernels, type Kernels } from '../src/kernels/kernels.js';
import { SeededRandom } from '../src/env/seeded-random.js';
import { table } from '../src/cli/format-output.js';

const QUICK = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
/** Each cell takes at least MIN_RUNS samples and keeps going until MIN_MS of work, then reports the fastest. */
const MIN_RUNS = QUICK ? 2 : 5;
const SAMPLE_MS = 5;
const MIN_MS = QUICK ? 50 : 300;
const SHAPES: ReadonlyArray<readonly [number, number]> = [[784, 128], [128, 10], [1024, 1024]];
const BATCHES = [1, 32, 256];

interface Case {
  readonly name: string;
  /** Builds the weights for k×n once and returns the call to time. */
  readonly setup: (rng: SeededRandom, k: number, n: number) => (kern: Kernels, x: Float32Array, m: number, out: Float32Array) => void;
}

const CASES: readonly Case[] = [
  { name: 'U8', setup: (rng, k, n) => {
    const c = rng.bytes(k * n);
    return (kern, x, m, out) => kern.matmulU8(x, m, k, c, n, -0.5, 1 / 255, out, false);
  } },
  { name: 'U8 via F32', setup: (rng, k, n) => {
    const c = rng.bytes(k * n);
    const w = new Float32Array(k * n);
    return (kern, x, m, out) => {
      kern.dequantize8(c, -0.5, 1 / 255, w);
      kern.matmulF32(x, m, k, w, n, out, false);
    };
  } },
  { name: 'S8', setup: (rng, k, n) => {
    const c = new Int8Array(rng.bytes(k * n).buffer);
    return (kern, x, m, out) => kern.matmulS8(x, m, k, c, n, 1 / 127, out, false);
  } },
  { name: 'S16', setup: (rng, k, n) => {
    const c = Int16Array.from({ length: k * n }, () => rng.int(65536) - 32768);
    return (kern, x, m, out) => kern.matmulS16(x, m, k, c, n, 1 / 32767, out, false);
  } },
  { name: 'F32', setup: (rng, k, n) => {
    const w = Float32Array.from({ length: k * n }, () => rng.gaussian() * 0.05);
    return (kern, x, m, out) => kern.matmulF32(x, m, k, w, n, out, false);
  } },
];

/** CPU seconds (user + system) of `reps` calls of `fn`: unlike wall time, not inflated by other processes. */
function cpuSeconds(fn: () => void, reps: number): number {
  const c0 = process.cpuUsage();
  for (let r = 0; r < reps; r++) fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** Best CPU seconds per call of `fn`: samples of enough calls to take >= SAMPLE_MS, the fastest sample wins. */
function bestSeconds(fn: () => void): number {
  let reps = 1;
  while (cpuSeconds(fn, reps) < SAMPLE_MS / 1000) reps *= 2; // also the warm-up
  let best = Infinity;
  let spent = 0;
  for (let run = 0; run < MIN_RUNS || spent < MIN_MS / 1000; run++) {
    const s = cpuSeconds(fn, reps);
    best = Math.min(best, s / reps);
    spent += s;
  }
  return best;
}

function main(): void {
  const wasm = wasmKernels();
  console.log(`kernels backend: ${kernelsBackend().reason}`);
  const rng = new SeededRandom(6);
  const rows: Array<Array<string | number>> = [];
  for (const c of CASES.filter((c) => !ONLY || c.name.includes(ONLY))) {
    for (const [k, n] of SHAPES) {
      const call = c.setup(rng, k, n);
      for (const m of BATCHES) {
        const x = Float32Array.from({ length: m * k }, () => rng.gaussian());
        const out = new Float32Array(m * n);
        const gflops = (s: number) => (2 * m * k * n) / s / 1e9;
        const ts = gflops(bestSeconds(() => call(TS_KERNELS, x, m, out)));
        const wa = wasm ? gflops(bestSeconds(() => call(wasm, x, m, out))) : NaN;
        rows.push([c.name, `${k}x${n}`, m, ts.toFixed(2), wasm ? wa.toFixed(2) : 'n/a', wasm ? `${(wa / ts).toFixed(1)}x` : 'n/a']);
      }
    }
  }
  console.log(table(['kernel', 'k x n', 'm', 'TS GFLOP/s', 'wasm GFLOP/s', 'wasm/TS'], rows));
}

main();
