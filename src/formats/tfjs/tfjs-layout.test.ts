// TF.js layout cases the fixtures do not cover: tensors straddling shard boundaries, several groups, string
// weights (kept in the architecture), repeated names, shards in a subfolder, and writeTfjsWeights output
// read back by the reader. Oracles: the bytes the test laid out itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../../errors.js';
import type { ModelLayout } from '../model-format.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import { tfjsFormat } from './tfjs-format.js';
import { tfjsWeightSpecs } from './tfjs-weight-specs.js';
import { writeTfjsWeights } from './tfjs-weights-writer.js';
import { SeededRandom } from '../../env/seeded-random.js';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 1));

async function roundTripFiles(files: Record<string, Uint8Array>): Promise<ModelLayout> {
  const layout = await tfjsFormat.read(memoryModelSource(files));
  const sink = memoryModelSink();
  await tfjsFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i].read() }, sink);
  assert.deepEqual([...sink.files.keys()].sort(), Object.keys(files).sort());
  for (const [name, bytes] of Object.entries(files)) assert.ok(Buffer.from(sink.files.get(name)!).equals(bytes), name);
  return layout;
}

/** Splits `data` into shards of the given sizes (the last takes the rest). */
function split(data: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(data.slice(at, at + s));
    at += s;
  }
  out.push(data.slice(at));
  return out;
}

ensureFixtures();

test('blazeface split into odd-sized shards reads the same tensors and writes the same shards', async () => {
  const modelJson = JSON.parse(readFileSync(fixturePath('human-models', 'blazeface.json'), 'utf8'));
  const bin = new Uint8Array(readFileSync(fixturePath('human-models', 'blazeface.bin')));
  const whole = await tfjsFormat.read(memoryModelSource({ 'a.json': json(modelJson), 'blazeface.bin': bin }));
  const shards = split(bin, [1001, 77, 250_003]);
  const paths = shards.map((_, i) => `group1-shard${i + 1}of${shards.length}.bin`);
  modelJson.weightsManifest[0].paths = paths;
  const files: Record<string, Uint8Array> = { 'model.json': json(modelJson) };
  paths.forEach((p, i) => (files[p] = shards[i]));
  const layout = await roundTripFiles(files);
  assert.equal(layout.tensors.length, whole.tensors.length);
  for (const [i, t] of layout.tensors.entries()) {
    assert.ok(Buffer.from(await t.read()).equals(await whole.tensors[i].read()), t.name);
  }
});

test('two groups, a string weight, repeated names, shards in a subfolder', async () => {
  const strings = ['hello', '', 'wörld'].map((s) => new TextEncoder().encode(s));
  const stringBytes = Buffer.concat(strings.flatMap((s) => [Buffer.from(Uint32Array.of(s.length).buffer), s]));
  const g0 = Buffer.concat([new SeededRandom(1).bytes(24), stringBytes, new SeededRandom(2).bytes(6)]);
  const g1 = new SeededRandom(3).bytes(10);
  const manifest = [
    { paths: ['w0a.bin', 'w0b.bin'], weights: [
      { name: 'x', shape: [2, 3], dtype: 'float32' },
      { name: 'vocab', shape: [3], dtype: 'string' },
      { name: 'x', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
    ] },
    { paths: ['./w1.bin'], weights: [
      { name: 'x', shape: [5], dtype: 'float32', quantization: { dtype: 'uint16', min: -1, scale: 0.5 } },
      { name: 'flags', shape: [0], dtype: 'bool' },
    ] },
  ];
  const [w0a, w0b] = split(g0, [20]);
  const files = { 'm/model.json': json({ modelTopology: {}, weightsManifest: manifest }), 'm/w0a.bin': w0a, 'm/w0b.bin': w0b, 'm/w1.bin': g1 };
  const layout = await roundTripFiles(files);
  assert.deepEqual(
    layout.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]),
    [['x', 'F32', [2, 3], 24], ['x~1', 'F16', [3], 6], ['x~2', 'U16', [5], 10], ['flags', 'BOOL', [0], 0]],
  );
  assert.ok(Buffer.from(await layout.tensors[1].read()).equals(g0.subarray(24 + stringBytes.length)));
  assert.ok(Buffer.from(await layout.tensors[2].read()).equals(g1));
});

test('writeTfjsWeights output reads back to the same tensors, as a manifest or a model.json', async () => {
  const specs = [
    { name: 'w', dtype: 'F32' as const, shape: [4, 5] },
    { name: 'h', dtype: 'F16' as const, shape: [7] },
    { name: 'q', dtype: 'U8' as const, shape: [3, 3] },
    { name: 'i', dtype: 'I32' as const, shape: [] },
    { name: 'b', dtype: 'BOOL' as const, shape: [2] },
  ];
  const data = specs.map((s, i) => new SeededRandom(10 + i).bytes([80, 14, 9, 4, 2][i]));
  for (const options of [{}, { modelJson: { format: 'graph-model', modelTopology: { node: [] } }, shardBytes: 33 }]) {
    const sink = memoryModelSink();
    await writeTfjsWeights(specs, async (i) => data[i], sink, options);
    const layout = await tfjsFormat.read(memoryModelSource(Object.fromEntries(sink.files)));
    assert.deepEqual(layout.tensors.map((t) => [t.name, t.dtype, t.shape]), specs.map((s) => [s.name, s.dtype, s.shape]));
    for (const [i, t] of layout.tensors.entries()) assert.ok(Buffer.from(await t.read()).equals(data[i]));
  }
});

test('writeTfjsWeights rejects dtypes TF.js cannot hold and wrong byte counts', async () => {
  await assert.rejects(
    writeTfjsWeights([{ name: 'd', dtype: 'F64', shape: [1] }], async () => new Uint8Array(8), memoryModelSink()),
    (e) => isNeurStoreError(e, 'NOT_SUPPORTED') && /F64/.test(e.message),
  );
  await assert.rejects(
    writeTfjsWeights([{ name: 'w', dtype: 'F32', shape: [2] }], async () => new Uint8Array(7), memoryModelSink()),
    (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /'w' has 7 bytes, expected 8/.test(e.message),
  );
});

test('tfjsWeightSpecs + writeTfjsWeights rebuild face-api manifests (uint8 scale/min kept) and a model.json', async () => {
  const cases = [
    ['face-api', 'tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin'],
    ['face-api', 'face_landmark_68_tiny_model-weights_manifest.json', 'face_landmark_68_tiny_model.bin'],
    ['human-models', 'antispoof.json', 'antispoof.bin'],
  ];
  for (const [dir, jsonName, binName] of cases) {
    const original = JSON.parse(readFileSync(fixturePath(dir, jsonName), 'utf8'));
    const bin = new Uint8Array(readFileSync(fixturePath(dir, binName)));
    const layout = await tfjsFormat.read(memoryModelSource({ [jsonName]: new Uint8Array(readFileSync(fixturePath(dir, jsonName))), [binName]: bin }));
    const specs = tfjsWeightSpecs(layout.architecture);
    assert.equal(specs.length, layout.tensors.length);
    const sink = memoryModelSink();
    const modelJson = Array.isArray(original) ? undefined : { ...original, weightsManifest: undefined };
    const written = (await writeTfjsWeights(specs, (i) => layout.tensors[i].read(), sink, { modelJson })) as any;
    const groups = Array.isArray(written) ? written : written.weightsManifest;
    const originalGroups = Array.isArray(original) ? original : original.weightsManifest;
    assert.deepEqual(groups[0].weights, originalGroups[0].weights, jsonName);
    assert.ok(Buffer.from(sink.files.get('group1-shard1of1.bin')!).equals(bin), binName);
  }
});

test('writeTfjsWeights: complex64 and explicit TF.js dtypes', async () => {
  const sink = memoryModelSink();
  const specs = [
    { name: 'c', dtype: 'F32' as const, shape: [3, 2], tfjsDtype: 'complex64' },
    { name: 'q', dtype: 'U16' as const, shape: [2], tfjsDtype: 'float32', quantization: { dtype: 'uint16' as const, scale: 0.1, min: -3 } },
  ];
  const data = [new SeededRandom(5).bytes(24), new SeededRandom(6).bytes(4)];
  const written = (await writeTfjsWeights(specs, async (i) => data[i], sink)) as any;
  assert.deepEqual(written[0].weights.map((w: any) => [w.name, w.dtype, w.shape]), [['c', 'complex64', [3]], ['q', 'float32', [2]]]);
  const layout = await tfjsFormat.read(memoryModelSource(Object.fromEntries(sink.files)));
  assert.deepEqual(layout.tensors.map((t) => [t.dtype, t.shape]), [['F32', [3, 2]], ['U16', [2]]]);
  assert.deepEqual(tfjsWeightSpecs(layout.architecture), specs);
  await assert.rejects(
    writeTfjsWeights([{ name: 'x', dtype: 'F32', shape: [1], tfjsDtype: 'int32' }], async () => new Uint8Array(4), memoryModelSink()),
    (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /F32 bytes cannot be TF\.js int32/.test(e.message),
  );
});

test('a string weight of 5000 elements spanning read windows stays in the architecture', async () => {
  const strings = Array.from({ length: 5000 }, (_, i) => new TextEncoder().encode(`token-${i}-${'x'.repeat(i % 23)}`));
  const stringBytes = Buffer.concat(strings.flatMap((s) => [Buffer.from(Uint32Array.of(s.length).buffer), s]));
  assert.ok(stringBytes.length > 1 << 16);
  const tail = new SeededRandom(9).bytes(8);
  const manifest = [{ paths: ['v.bin'], weights: [{ name: 'vocab', shape: [50, 100], dtype: 'string' }, { name: 't', shape: [2], dtype: 'int32' }] }];
  const layout = await roundTripFiles({ 'vocab.json': json(manifest), 'v.bin': Buffer.concat([stringBytes, tail]) });
  assert.deepEqual(layout.tensors.map((t) => t.name), ['t']);
  assert.ok(Buffer.from(await layout.tensors[0].read()).equals(tail));
});
