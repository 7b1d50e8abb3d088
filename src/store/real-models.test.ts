/**
 * The store on real models: TF.js models of human-models and face-api are put and got back byte-identical,
 * exported to safetensors and round-tripped as such, and their known exact duplicates are stored once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { NeurStore } from './neur-store.js';
import { openModelSource } from './model-files.js';
import { NodeEnv } from '../env/node-env.js';
import { tfjsFormat } from '../formats/tfjs/tfjs-format.js';
import { writeSafetensorsFile } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const HUMAN = (name: string) => fixturePath('human-models', `${name}.json`);
const FACE_API = (name: string) => fixturePath('face-api', `${name}-weights_manifest.json`);

/** Writes the tensors of a TF.js model as a safetensors file (names, dtypes, shapes and bytes kept). */
async function tfjsToSafetensors(modelJson: string, out: string): Promise<string> {
  const source = await openModelSource(new NodeEnv(), modelJson);
  const layout = await tfjsFormat.read(source);
  const tensors = [];
  for (const t of layout.tensors) tensors.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: await t.read() });
  await source.close();
  return writeSafetensorsFile(out, tensors);
}

function sameFile(a: string, b: string): void {
  assert.ok(readFileSync(a).equals(readFileSync(b)), `${a} equals ${b}`);
}

test('TF.js models come back byte-identical, model.json and shards', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  for (const [name, json, shard] of [
    ['faceres', HUMAN('faceres'), fixturePath('human-models', 'faceres.bin')],
    ['face_expression', FACE_API('face_expression_model'), fixturePath('face-api', 'face_expression_model.bin')],
  ] as const) {
    const m = await store.put(json, { name });
    assert.equal(m.format, 'tfjs');
    const written = await store.get(name, join(dir, name, 'model.json'));
    assert.equal(written.length, 2);
    sameFile(written[0]!, json);
    sameFile(join(dir, name, shard.slice(shard.lastIndexOf('/') + 1)), shard);
  }
  await store.close();
});

test('blazeface and blazeface-back are one copy: every tensor of the second is a dedup hit', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  const first = await store.put(HUMAN('blazeface'), { name: 'blazeface' });
  const second = await store.put(HUMAN('blazeface-back'), { name: 'blazeface-back' });
  const info = await store.info('blazeface-back');
  assert.equal(info.tensors.length, first.tensorCount);
  assert.ok(info.tensors.every((t) => t.storedAs === 'duplicate'));
  assert.ok(second.storedBytes < 8000, `only the model.json (it names another shard) is new: ${second.storedBytes} bytes`);
  const out = join(dir, 'back', 'blazeface-back.json');
  await store.get('blazeface-back', out);
  sameFile(out, HUMAN('blazeface-back'));
  await store.close();
});

test('facemesh-attention and its -pinto copy share their common tensors under other names', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(HUMAN('facemesh-attention'), { name: 'fm' });
  await store.put(HUMAN('facemesh-attention-pinto'), { name: 'fm-pinto' });
  const pinto = await store.info('fm-pinto');
  const dups = pinto.tensors.filter((t) => t.storedAs === 'duplicate');
  const original = new Set((await store.info('fm')).tensors.map((t) => t.recordKey));
  const sharedLarge = new Set(dups.filter((t) => original.has(t.recordKey) && t.byteLength > 64).map((t) => t.recordKey));
  assert.equal(sharedLarge.size, 228, 'distinct shared tensors over 64 bytes');
  await store.close();
});

test('safetensors files made from real TF.js tensors round-trip byte-exactly and dedup against the TF.js copy', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  for (const [name, json] of [['faceres-deep', HUMAN('faceres-deep')], ['face_landmark_68', FACE_API('face_landmark_68_model')]] as const) {
    const st = await tfjsToSafetensors(json, join(dir, `${name}.safetensors`));
    await store.put(json, { name: `${name}.tfjs` });
    const m = await store.put(st, { name });
    assert.equal(m.format, 'safetensors');
    assert.ok((await store.info(name)).tensors.every((t) => t.storedAs === 'duplicate'), `${name}: the same tensors in another format are stored once`);
    await store.get(name, join(dir, `${name}.out`));
    sameFile(join(dir, `${name}.out`), st);
  }
  await store.close();
});

test('the three Silero VAD ONNX models come back byte-identical and share their STFT basis', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  const versions = ['silero_vad_legacy', 'silero_vad_v5', 'silero_vad_v6'];
  for (const v of versions) {
    const m = await store.put(fixturePath('vad-web', `${v}.onnx`), { name: v });
    assert.equal(m.format, 'onnx');
    await store.get(v, join(dir, `${v}.onnx`));
    sameFile(join(dir, `${v}.onnx`), fixturePath('vad-web', `${v}.onnx`));
  }
  // small constants (scalars, shape vectors) also dedup; the weights that matter are the large ones
  const keysOf = async (v: string) => new Set((await store.info(v)).tensors.filter((t) => t.byteLength > 4096).map((t) => t.recordKey));
  const [legacy, v5, v6] = await Promise.all(versions.map(keysOf));
  const inAll = [...legacy!].filter((k) => v5!.has(k) && v6!.has(k));
  assert.equal(inAll.length, 1, 'the 16 kHz STFT basis is stored once for all three');
  assert.equal([...v5!].filter((k) => v6!.has(k)).length, 2, 'v5 and v6 share both STFT bases');
  await store.close();
});

test('all 41 human-models and 7 face-api models are put and got back byte-identical', async () => {
  const { readdirSync } = await import('node:fs');
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  const models: Array<[string, string, string]> = [];
  for (const [pkg, suffix] of [['human-models', '.json'], ['face-api', '-weights_manifest.json']] as const) {
    for (const f of readdirSync(fixturePath(pkg, '')).filter((n) => n.endsWith(suffix))) {
      const json = fixturePath(pkg, f);
      models.push([`${pkg}/${f.slice(0, -suffix.length)}`, json, fixturePath(pkg, f.replace(suffix === '.json' ? /\.json$/ : /-weights_manifest\.json$/, '.bin'))]);
    }
  }
  assert.equal(models.length, 48);
  for (const [name, json, shard] of models) {
    await store.put(json, { name });
    const [outJson, outShard] = await store.get(name, join(dir, 'out', name, 'model.json'));
    sameFile(outJson!, json);
    sameFile(outShard!, shard);
  }
  const s = await store.stats();
  assert.equal(s.models, 48);
  assert.ok(s.segmentBytes < s.bytesIn, 'exact dedup saves space across the set');
  await store.close();
});
