// int8/int8+delta sessions of an ONNX model whose quantized weight sits in an
// external data file (inlined, matched to its stored tensor by digest; weights in the .onnx file itself are
// covered by the Silero tests). Oracle: ONNX Runtime on the original files, with the bound tol gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { SeededRandom } from '../env/seeded-random.js';
import { encodeOnnxModel } from '../formats/onnx/onnx-proto.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';

const TOL = 1e-3;
/** W1 (16·12 elements) is quantized; B and W2 (12·4) are below QDQ_MIN_ELEMENTS and stay float. */
const [IN, HIDDEN, OUT] = [16, 12, 4];

/** Y = (X·W1 + B)·W2, W1 external (in w.bin at offset 64), B and W2 inline; returns the path and W2. */
function writeModel(dir: string, rand: SeededRandom): { path: string; w2: Float32Array } {
  const values = (n: number): Float32Array => Float32Array.from({ length: n }, () => rand.gaussian() * 0.5);
  const w1 = values(IN * HIDDEN);
  const w2 = values(HIDDEN * OUT);
  const bin = new Uint8Array(64 + w1.byteLength);
  bin.set(new Uint8Array(w1.buffer), 64);
  writeFileSync(join(dir, 'w.bin'), bin);
  const info = (name: string, dims: number[]): object => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });
  const raw = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer);
  const model = encodeOnnxModel({
    ir_version: 8,
    opset_import: [{ domain: '', version: 16 }],
    graph: {
      name: 'mlp',
      node: [
        { op_type: 'MatMul', input: ['X', 'W1'], output: ['H'] },
        { op_type: 'Add', input: ['H', 'B'], output: ['HB'] },
        { op_type: 'MatMul', input: ['HB', 'W2'], output: ['Y'] },
      ],
      initializer: [
        { name: 'W1', data_type: 1, dims: [IN, HIDDEN], data_location: 1, external_data: [
          { key: 'location', value: 'w.bin' }, { key: 'offset', value: '64' }, { key: 'length', value: String(w1.byteLength) }] },
        { name: 'B', data_type: 1, dims: [HIDDEN], raw_data: raw(values(HIDDEN)) },
        { name: 'W2', data_type: 1, dims: [HIDDEN, OUT], raw_data: raw(w2) },
      ],
      input: [info('X', [4, IN])],
      output: [info('Y', [4, OUT])],
    },
  });
  writeFileSync(join(dir, 'm.onnx'), model);
  return { path: join(dir, 'm.onnx'), w2 };
}

async function run(session: ort.InferenceSession, x: Float32Array): Promise<Float32Array> {
  const r = await session.run({ X: new ort.Tensor('float32', x, [4, IN]) });
  await session.release();
  return r['Y']!.data as Float32Array;
}

test('a weight in an external data file is quantized too; int8+delta stays within the tolerance bound', async () => {
  const rand = new SeededRandom(11);
  const dir = tempDir();
  const { path, w2 } = writeModel(dir, rand);
  const store = await NeurStore.init(join(dir, 'store'));
  try {
    await store.put(path, { name: 'mlp' });
    const x = Float32Array.from({ length: 4 * IN }, () => rand.gaussian());
    const original = await run(await ort.InferenceSession.create(path), x);
    const exact = await run(await store.onnxSession('mlp', { mode: 'exact' }), x);
    assert.deepEqual(exact, original);
    const delta = await run(await store.onnxSession('mlp', { mode: 'int8+delta', tolerance: TOL }), x);
    const base = await run(await store.onnxSession('mlp', { mode: 'int8', tolerance: TOL }), x);
    // Every W1 element moves by <= TOL, so |dY[r][k]| <= TOL · sum_i |X[r][i]| · sum_j |W2[j][k]| (+ float32 rounding).
    const rowSum = Math.max(...[0, 1, 2, 3].map((r) => x.subarray(r * IN, (r + 1) * IN).reduce((n, v) => n + Math.abs(v), 0)));
    const colSum = Math.max(...Array.from({ length: OUT }, (_, k) => Array.from({ length: HIDDEN }, (_, j) => Math.abs(w2[j * OUT + k]!)).reduce((n, v) => n + v, 0)));
    const bound = TOL * rowSum * colSum * (1 + 1e-3) + 1e-5;
    const maxDiff = (a: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - original[i]!)), 0);
    assert.ok(maxDiff(delta) <= bound, `int8+delta ${maxDiff(delta)} <= ${bound}`);
    // W1 is the only weight the int8 modes replace: had it been left float, base-only would equal the original.
    assert.ok(maxDiff(base) > 10 * maxDiff(delta), `base only off by ${maxDiff(base)}, int8+delta by ${maxDiff(delta)}`);
  } finally {
    await store.close();
  }
});
