// ONNX Runtime loads the written-back Silero models (and the protobufjs re-encoded ones) and gives outputs
// bit-equal to the originals' on seeded random audio frames, for both sample rates (both `If` branches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { memorySink, memorySource } from '../byte-source.js';
import type { ModelLayout, StoredModel } from '../model-format.js';
import { onnxFormat } from './onnx-format.js';
import { decodeOnnxModel, encodeOnnxModel } from './onnx-proto.js';
import { SeededRandom } from '../../env/seeded-random.js';

ensureFixtures();

/** Feeds by input name: audio frame, sample rate, and the recurrent state (v5/v6 `state`, legacy `h`/`c`). */
function feeds(names: readonly string[], sr: number, seed: number): Record<string, ort.Tensor> {
  const rand = new SeededRandom(seed);
  const floats = (n: number, scale: number): Float32Array => Float32Array.from({ length: n }, () => (rand.next() * 2 - 1) * scale);
  const frame = sr === 16000 ? 512 : 256;
  const out: Record<string, ort.Tensor> = {};
  for (const name of names) {
    if (name === 'input') out[name] = new ort.Tensor('float32', floats(frame, 0.5), [1, frame]);
    else if (name === 'sr') out[name] = new ort.Tensor('int64', BigInt64Array.from([BigInt(sr)]), []);
    else if (name === 'state') out[name] = new ort.Tensor('float32', floats(256, 0.1), [2, 1, 128]);
    else if (name === 'h' || name === 'c') out[name] = new ort.Tensor('float32', floats(128, 0.1), [2, 1, 64]);
    else assert.fail(`unexpected model input '${name}'`);
  }
  return out;
}

async function run(bytes: Uint8Array, sr: number, seed: number): Promise<{ names: string[]; data: Float32Array[] }> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run(feeds(session.inputNames, sr, seed));
  const names = [...session.outputNames];
  const data = names.map((n) => new Float32Array(result[n]!.data as Float32Array));
  await session.release();
  return { names, data };
}

function stored(layout: ModelLayout): StoredModel {
  return { architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() };
}

for (const v of ['legacy', 'v5', 'v6'] as const) {
  test(`silero ${v}: ONNX Runtime gives equal outputs for the original, written-back and re-encoded model`, async () => {
    const original = new Uint8Array(readFileSync(fixturePath('vad-web', `silero_vad_${v}.onnx`)));
    const layout = await onnxFormat.read({ files: ['m.onnx'], open: async () => memorySource(original) });
    const sink = memorySink();
    await onnxFormat.write(stored(layout), { create: async () => ({ ...sink, close: async () => {} }) });
    const reencoded = encodeOnnxModel(await decodeOnnxModel(stored(layout)));
    for (const [sr, seed] of [[16000, 11], [8000, 12]] as const) {
      const want = await run(original, sr, seed);
      assert.ok(want.data[0]!.length > 0 && want.data[0]!.every(Number.isFinite));
      assert.deepEqual(await run(sink.bytes(), sr, seed), want);
      assert.deepEqual(await run(reencoded, sr, seed), want);
    }
  });
}
