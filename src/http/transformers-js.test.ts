/**
 * transformers.js (`@huggingface/transformers`, unchanged) loads an ONNX model from the hub server with
 * `env.remoteHost`, and its outputs equal those of the same model loaded from local files. The model is Silero
 * VAD v5 (a real ONNX model from the fixtures) in a folder with a config.json the library accepts
 * (`model_type: vit`, an encoder-only type whose forward passes the inputs through by name): transformers.js
 * fetches config.json and onnx/model.onnx through /resolve, the model file streamed from the tensor store.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModel, Tensor, env } from '@huggingface/transformers';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { Registry } from '../registry/registry.js';
import { buildServer } from './server.js';

ensureFixtures();
const CONFIG = '{"model_type":"vit"}\n';

const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function run(model: Awaited<ReturnType<typeof AutoModel.from_pretrained>>): Promise<{ output: number[]; state: number[] }> {
  const input = new Tensor('float32', new Float32Array(512).map((_, i) => Math.sin(i / 7) * 0.4), [1, 512]);
  const state = new Tensor('float32', new Float32Array(256), [2, 1, 128]);
  const sr = new Tensor('int64', BigInt64Array.from([16000n]), []);
  const out = (await model({ input, state, sr })) as { output: Tensor; stateN: Tensor };
  return { output: [...(out.output.data as Float32Array)], state: [...(out.stateN.data as Float32Array)] };
}

test('transformers.js AutoModel loads an ONNX model from the server (env.remoteHost): same outputs as from local files', async () => {
  const onnx = readFileSync(fixturePath('vad-web', 'silero_vad_v5.onnx'));
  const dir = tempDir();
  const reg = await Registry.open(join(dir, 'store'), { create: true, decodeWorkers: 0 });
  closers.push(() => reg.close());
  await reg.createRepo('org/silero');
  await reg.commit('org/silero', [
    { op: 'put', path: 'config.json', bytes: Buffer.from(CONFIG) },
    { op: 'put', path: 'onnx/model.onnx', bytes: onnx },
  ]);
  assert.equal((await reg.file(await reg.resolve('org/silero'), 'onnx/model.onnx')).kind, 'model');
  const app = await buildServer(reg, { anonymousRead: true });
  closers.push(() => app.close());
  const address = await app.listen({ host: '127.0.0.1', port: 0 });

  env.allowRemoteModels = true;
  env.allowLocalModels = false;
  env.remoteHost = `${address}/`;
  env.cacheDir = join(dir, 'tjs-cache');
  const remote = await run(await AutoModel.from_pretrained('org/silero', { dtype: 'fp32' }));
  assert.equal(readFileSync(join(dir, 'tjs-cache', 'org', 'silero', 'onnx', 'model.onnx')).equals(onnx), true, 'the downloaded file is the original');

  const local = join(dir, 'local');
  mkdirSync(join(local, 'org', 'silero', 'onnx'), { recursive: true });
  writeFileSync(join(local, 'org', 'silero', 'config.json'), CONFIG);
  writeFileSync(join(local, 'org', 'silero', 'onnx', 'model.onnx'), onnx);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${local}/`;
  const fromFiles = await run(await AutoModel.from_pretrained('org/silero', { dtype: 'fp32' }));
  assert.deepEqual(remote, fromFiles);
  assert.ok(remote.output[0]! >= 0 && remote.output[0]! <= 1);
});
