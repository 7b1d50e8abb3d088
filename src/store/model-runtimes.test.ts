// Stored models run for real: ONNX Runtime sessions of the three Silero VAD models in every ONNX load mode
// (agreement with the original file on seeded speech-like audio, both sample-rate branches), and a TF.js
// graph model built from the store giving the original's outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../errors.js';
import { runVadSession, speechLike } from '../runtime/testing/silero-vad.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';
import { seededImages } from './testing/model-agreement.js';

ensureFixtures();
const SILERO = ['legacy', 'v5', 'v6'] as const;
const TOL = 1e-4;

const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

test('Silero v4/v5/v6: ONNX sessions from the store agree with the original in exact, int8+delta and int8 modes', async (t) => {
  const store = await NeurStore.init(join(tempDir(), 'store'));
  const lines: string[] = [];
  try {
    for (const v of SILERO) await store.put(fixturePath('vad-web', `silero_vad_${v}.onnx`), { name: v });
    for (const v of SILERO) {
      const original = await ort.InferenceSession.create(new Uint8Array(readFileSync(fixturePath('vad-web', `silero_vad_${v}.onnx`))));
      for (const [sr, seed] of [[16000, 1], [8000, 2]] as const) {
        const audio = speechLike(sr, 0.6, seed);
        const want = await runVadSession(original, sr, audio);
        for (const mode of ['exact', 'int8+delta', 'int8'] as const) {
          const session = await store.onnxSession(v, { mode, tolerance: TOL });
          const got = await runVadSession(session, sr, audio);
          await session.release();
          const d = maxDiff(got.probs, want.probs);
          lines.push(`${v} ${sr} Hz ${mode}: max |p - p0| ${d.toExponential(2)}`);
          if (mode === 'exact') assert.equal(d, 0, `${v} ${sr} exact`);
          // Weights within TOL move probabilities by at most ~13 TOL (measured at 1e-4..1e-6); 50 TOL is the bound.
          if (mode === 'int8+delta') assert.ok(d <= 50 * TOL, `${v} ${sr} int8+delta: ${d}`);
          // Base only drops up to half an 8-bit step per weight: reported, bounded only loosely.
          if (mode === 'int8') assert.ok(d <= 1, `${v} ${sr} int8: ${d}`);
        }
      }
      await original.release();
    }
  } finally {
    await store.close();
  }
  t.diagnostic(`Silero on 0.6 s of speech-like audio per branch:\n${lines.join('\n')}`);
});

test('onnxSession refuses fp16 and non-ONNX models; tfjsModel refuses non-TF.js models', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'));
  try {
    await store.put(fixturePath('vad-web', 'silero_vad_v5.onnx'), { name: 'vad' });
    await store.put(fixturePath('human-models', 'blazeface.json'), { name: 'face' });
    const code = (c: string) => (e: unknown) => isNeurStoreError(e) && e.code === c;
    await assert.rejects(store.onnxSession('vad', { mode: 'fp16' }), code('NOT_SUPPORTED'));
    await assert.rejects(store.onnxSession('face'), code('NOT_SUPPORTED'));
    await assert.rejects(store.tfjsModel('vad'), code('NOT_SUPPORTED'));
    await assert.rejects(store.onnxSession('nope'), code('NOT_FOUND'));
  } finally {
    await store.close();
  }
});

test('tfjsModel: blazeface from the store gives the original file\'s outputs', async () => {
  const store = await NeurStore.init(join(tempDir(), 'store'));
  try {
    await store.put(fixturePath('human-models', 'blazeface.json'), { name: 'face', mode: 'lossless' });
    const model = await store.tfjsModel('face');
    assert.ok(model instanceof tf.GraphModel);
    const input = seededImages([256, 256, 3], 1, 5);
    const json = JSON.parse(readFileSync(fixturePath('human-models', 'blazeface.json'), 'utf8'));
    const shards = (json.weightsManifest as Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>);
    const data = Buffer.concat(shards.flatMap((g) => g.paths.map((p) => readFileSync(fixturePath('human-models', p)))));
    const { weightsManifest: _, ...rest } = json;
    const reference = await tf.loadGraphModel(tf.io.fromMemory({
      ...rest, weightSpecs: shards.flatMap((g) => g.weights), weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length),
    } as tf.io.ModelArtifacts));
    const all = (r: unknown): tf.Tensor[] => (r instanceof tf.Tensor ? [r] : Array.isArray(r) ? r : Object.values(r as object));
    const got = all((model as tf.GraphModel).predict(input));
    const want = all(reference.predict(input));
    assert.equal(got.length, want.length);
    for (const [i, g] of got.entries()) {
      assert.deepEqual(g.shape, want[i]!.shape);
      assert.deepEqual(await g.data(), await want[i]!.data(), `output ${i}`);
    }
    tf.dispose([...got, ...want, input]);
  } finally {
    await store.close();
  }
});
