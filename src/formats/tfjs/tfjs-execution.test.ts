// TF.js itself runs what the format writes: small graph models written back by tfjsFormat, and rebuilt from
// their tensors by writeTfjsWeights (in 100 kB shards), load with tf.loadGraphModel(tf.io.fromMemory(...)) on
// the cpu backend and give outputs bit-identical to the original files on a seeded random input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import { tfjsFormat } from './tfjs-format.js';
import { writeTfjsWeights } from './tfjs-weights-writer.js';
import { SeededRandom } from '../../env/seeded-random.js';

type Files = Map<string, Uint8Array>;

/** model.json + shards (in manifest order) as the artifacts tf.io.fromMemory takes. */
function artifactsOf(jsonFile: string, files: Files): tf.io.ModelArtifacts {
  const json = JSON.parse(Buffer.from(files.get(jsonFile)!).toString('utf8'));
  const group = json.weightsManifest[0];
  const data = Buffer.concat(group.paths.map((p: string) => files.get(p)!));
  const { weightsManifest: _unused, ...rest } = json;
  return { ...rest, weightSpecs: group.weights, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length) };
}

function seededInput(shape: number[], seed: number): tf.Tensor {
  const rand = new SeededRandom(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => rand.next());
  return tf.tensor(values, shape);
}

async function run(artifacts: tf.io.ModelArtifacts, input: tf.Tensor): Promise<Uint8Array[]> {
  const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const out = model.execute(input);
  const outs = Array.isArray(out) ? out : [out];
  const bytes = outs.map((t) => new Uint8Array((t.dataSync() as Float32Array).slice().buffer));
  tf.dispose(outs);
  model.dispose();
  return bytes;
}

ensureFixtures();

// The models TF.js runs fastest on cpu (blazeface itself takes ~5 s a run, emotion ~1.3 s); facemesh-detection-short
// is the blazeface detector at 128x128 with float16 weights.
const cases: [string, number[]][] = [
  ['liveness', [1, 32, 32, 3]],
  ['gender-ssrnet-imdb', [1, 64, 64, 3]],
  ['facemesh-detection-short', [1, 128, 128, 3]],
];

test('written-back and re-sharded models run in TF.js with outputs identical to the originals', async () => {
  await tf.setBackend('cpu');
  for (const [name, shape] of cases) {
    const files: Files = new Map(
      [`${name}.json`, `${name}.bin`].map((f) => [f, new Uint8Array(readFileSync(fixturePath('human-models', f)))]),
    );
    const layout = await tfjsFormat.read(memoryModelSource(files));
    const back = memoryModelSink();
    await tfjsFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i].read() }, back);
    const { weightsManifest: _unused, ...modelJson } = JSON.parse(Buffer.from(files.get(`${name}.json`)!).toString());
    const rebuilt = memoryModelSink();
    await writeTfjsWeights(layout.tensors, (i) => layout.tensors[i].read(), rebuilt, { modelJson, shardBytes: 100_000 });
    assert.ok(rebuilt.files.size > 2, `${name}: rebuilt in several shards`);

    const input = seededInput(shape, 7);
    const expected = await run(artifactsOf(`${name}.json`, files), input);
    assert.ok(expected.length > 0 && expected.every((b) => b.length > 0));
    assert.ok(expected.some((b) => b.some((x) => x !== 0)), `${name}: output not all zero`);
    assert.deepEqual(await run(artifactsOf(`${name}.json`, back.files), input), expected, `${name} written back`);
    assert.deepEqual(await run(artifactsOf('model.json', rebuilt.files), input), expected, `${name} rebuilt`);
    input.dispose();
  }
});
