/**
 * Section 3 of `bench/load.bench.ts`: the MNIST family (base + 6 fine-tunes, from `ensureMnistFamily()`) put
 * in default mode (tolerance 1e-3), then
 *   - getting it ready: the 7 original files read as typed arrays, vs loaded from the store as fp32, vs
 *     loaded as int8+delta and prepared for direct computation (`DenseFamily`);
 *   - batched inference on real held-back MNIST digits (batch 1, 32, 256) of all 7 models: float32 weights
 *     (matmulF32, weights loaded from the store as fp32), decode-then-run (`runDecoded`: each W = B + Δ
 *     rebuilt in float32 per call, then matmulF32) and direct computation (`run`: x·B once per distinct base,
 *     x·Δ_i per model); with agreement of the direct logits with decode-then-run and of the predictions with
 *     the original files' (mnistPredictions, float64).
 */
import { join } from 'node:path';
import { NeurStore } from '../src/store/neur-store.js';
import { DEFAULT_TOLERANCE } from '../src/store/store-types.js';
import { DenseFamily, type DenseModel } from '../src/runtime/dense-family.js';
import type { LoadedTensor } from '../src/runtime/load-forms.js';
import { kernels } from '../src/kernels/kernels.js';
import { formatBytes, table } from '../src/cli/format-output.js';
import { fixturePath } from '../scripts/fetch-fixtures.js';
import { loadMnistSplit, pickDigits, MNIST_PIXELS, MNIST_CLASSES } from '../src/store/testing/mnist-digits.js';
import { mnistPredictions, readMnistSafetensors } from '../src/store/testing/mnist-eval.js';
import { best, HAS_PROC_IO, perCall, readSafetensorsArrays, type Measured } from './load-sets.js';

const BATCHES = [1, 32, 256];
const SLOPE = 0.01;

async function loadByName(store: NeurStore, name: string, mode: 'fp32' | 'int8+delta'): Promise<Map<string, LoadedTensor>> {
  const byName = new Map<string, LoadedTensor>();
  for await (const t of store.load(name, { mode })) byName.set(t.name, t);
  return byName;
}

async function denseFamily(store: NeurStore, names: string[]): Promise<DenseFamily> {
  const models: DenseModel[] = [];
  for (const n of names) {
    const byName = await loadByName(store, n, 'int8+delta');
    models.push({
      layers: ['l1.weight', 'l2.weight'].map((w) => {
        const t = byName.get(w);
        if (t?.form !== 'int8') throw new Error(`${n} ${w}: expected an int8 form, got ${t?.form}`);
        return { q8: t.q8, ...(t.delta ? { delta: t.delta } : {}) };
      }),
    });
  }
  const hidden = models[0]!.layers[0]!.q8.codes.length / MNIST_PIXELS;
  return new DenseFamily(models, [[hidden, MNIST_PIXELS], [MNIST_CLASSES, hidden]]);
}

/** Float32 weights [out, in] -> [in, out], the layout matmulF32 multiplies by. */
function transposed(w: Float32Array, out: number, inn: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < out; r++) for (let c = 0; c < inn; c++) t[c * out + r] = w[r * inn + c]!;
  return t;
}

interface Fp32Model {
  w1: Float32Array;
  w2: Float32Array;
  hidden: number;
}

async function fp32Models(store: NeurStore, names: string[]): Promise<Fp32Model[]> {
  const out: Fp32Model[] = [];
  for (const n of names) {
    const byName = await loadByName(store, n, 'fp32');
    const [l1, l2] = ['l1.weight', 'l2.weight'].map((w) => {
      const t = byName.get(w);
      if (t?.form !== 'f32') throw new Error(`${n} ${w}: expected f32, got ${t?.form}`);
      return t.values;
    });
    const hidden = l1!.length / MNIST_PIXELS;
    out.push({ w1: transposed(l1!, hidden, MNIST_PIXELS), w2: transposed(l2!, MNIST_CLASSES, hidden), hidden });
  }
  return out;
}

function runFp32(models: Fp32Model[], x: Float32Array, batch: number): Float32Array[] {
  const k = kernels();
  return models.map((m) => {
    const h = new Float32Array(batch * m.hidden);
    k.matmulF32(x, batch, MNIST_PIXELS, m.w1, m.hidden, h, false);
    for (let i = 0; i < h.length; i++) if (h[i]! < 0) h[i] = Math.fround(h[i]! * SLOPE);
    const y = new Float32Array(batch * MNIST_CLASSES);
    k.matmulF32(h, batch, m.hidden, m.w2, MNIST_CLASSES, y, false);
    return y;
  });
}

function argmax(y: Float32Array, row: number): number {
  let b = 0;
  for (let c = 1; c < MNIST_CLASSES; c++) if (y[row * MNIST_CLASSES + c]! > y[row * MNIST_CLASSES + b]!) b = c;
  return b;
}

export async function familySection(dir: string, family: string[], runs: number): Promise<void> {
  const names = family.map((_, i) => `m${i}`);
  const storeDir = join(dir, 'mnist-family');
  const init = await NeurStore.init(storeDir);
  for (const [i, p] of family.entries()) await init.put(p, { name: names[i]!, mode: 'default', tolerance: DEFAULT_TOLERANCE });
  await init.close();
  const store = await NeurStore.open(storeDir, { baseCacheBytes: 0 });
  try {
    const read = (m: Measured): string => (HAS_PROC_IO ? formatBytes(m.bytes) : '-');
    const orig = await best(runs, () => family.forEach((p) => readSafetensorsArrays(p)));
    const fp32 = await best(runs, () => fp32Models(store, names));
    const direct = await best(runs, () => denseFamily(store, names));
    console.log(`\n3. MNIST family (base + ${family.length - 1} fine-tunes, default mode tol ${DEFAULT_TOLERANCE}): getting ready, best of ${runs}, shared-base cache off`);
    console.log(table(['PREPARED AS', 'SECONDS', 'VS ORIGINAL', 'READ'], [
      [`${family.length} original .safetensors files: read + typed arrays`, orig.seconds.toFixed(4), '1.00x', read(orig)],
      ['store load fp32 (+ transpose for matmulF32)', fp32.seconds.toFixed(4), `${(fp32.seconds / orig.seconds).toFixed(2)}x`, read(fp32)],
      ['store load int8+delta + DenseFamily prepare', direct.seconds.toFixed(4), `${(direct.seconds / orig.seconds).toFixed(2)}x`, read(direct)],
    ]));

    const f32Models = await fp32Models(store, names);
    const net = await denseFamily(store, names);
    const { test } = loadMnistSplit((f) => fixturePath('mnist', f));
    const originals = family.map((p) => readMnistSafetensors(p));
    const rows: Array<Array<string | number>> = [];
    for (const b of BATCHES) {
      const digits = pickDigits(test, Uint32Array.from({ length: b }, (_, i) => i));
      const x = digits.images;
      const tF = perCall(runs, () => runFp32(f32Models, x, b));
      const tD = perCall(runs, () => net.runDecoded(x, b));
      const tR = perCall(runs, () => net.run(x, b));
      const yR = net.run(x, b);
      const yD = net.runDecoded(x, b);
      let diff = 0;
      let agree = 0;
      for (const [i, o] of originals.entries()) {
        for (let j = 0; j < yR[i]!.length; j++) diff = Math.max(diff, Math.abs(yR[i]![j]! - yD[i]![j]!));
        const want = mnistPredictions(o.l1, o.l2, digits);
        for (let r = 0; r < b; r++) if (argmax(yR[i]!, r) === want[r]) agree++;
      }
      const ms = (s: number): string => (s * 1000).toFixed(3);
      rows.push([b, ms(tF), ms(tD), ms(tR), `${(tD / tR).toFixed(2)}x`, `${(tF / tR).toFixed(2)}x`, diff.toExponential(1), `${agree}/${b * originals.length}`]);
    }
    console.log(`\n3. MNIST family inference, all ${names.length} models per call, real held-back digits; ms per call, best of ${runs}`);
    console.log('   (each sample repeats the call for >= 30 ms); DIRECT = x·B once per distinct base + x·Δ_i per model');
    console.log(table(['BATCH', 'FP32 MS', 'DECODE+RUN MS', 'DIRECT MS', 'DIRECT VS DECODE', 'DIRECT VS FP32', 'MAX |DIRECT-DECODED|', 'PREDICTIONS = ORIGINAL'], rows));
    console.log('   VS columns: other time / direct time (above 1: direct is faster). No bytes are read during inference.');
  } finally {
    await store.close();
  }
}
