// Malformed TF.js models and architectures: every case is INVALID_ARGUMENT naming the problem, never a crash,
// a hang or a wrong answer. Ends with seeded byte mutations of a real manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../../errors.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import { tfjsFormat } from './tfjs-format.js';
import { SeededRandom } from '../../env/seeded-random.js';

const text = (s: string) => new TextEncoder().encode(s);

/** A model.json with one group of the given weights over one shard `w.bin` of `shardBytes` bytes. */
function model(weights: unknown[], shardBytes: number, paths: unknown = ['w.bin']): Record<string, Uint8Array> {
  return {
    'model.json': text(JSON.stringify({ format: 'graph-model', modelTopology: {}, weightsManifest: [{ paths, weights }] })),
    'w.bin': new Uint8Array(shardBytes),
  };
}

async function rejectsWith(files: Record<string, Uint8Array>, pattern: RegExp): Promise<void> {
  await assert.rejects(tfjsFormat.read(memoryModelSource(files)), (e: unknown) => {
    assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `expected INVALID_ARGUMENT, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

const f32 = (name: string, shape: unknown) => ({ name, shape, dtype: 'float32' });

test('invalid JSON and non-UTF-8 JSON name the file', async () => {
  await rejectsWith({ 'model.json': text('{"weightsManifest": [{"paths": ['), 'w.bin': new Uint8Array(4) }, /model\.json: invalid JSON/);
  await rejectsWith({ 'model.json': Uint8Array.of(0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d) }, /model\.json: not valid UTF-8/);
  await rejectsWith({ 'c.json': text('{"hidden_size": 3}') }, /c\.json: JSON is neither/);
  await rejectsWith({ 'w.bin': new Uint8Array(16) }, /no TF\.js model\.json or weights manifest among files \[w\.bin\]/);
});

test('a weight past the end of its shards, and shards larger than the manifest', async () => {
  await rejectsWith(model([f32('a', [4]), f32('b', [6])], 24), /weight 'b' .*ends at byte 40, past the end of its shards \(24 bytes\)/);
  await rejectsWith(model([f32('a', [4])], 30), /weightsManifest\[0\] describes 16 bytes but its shards \(w\.bin\) hold 30/);
});

test('shards missing from the source', async () => {
  const files = model([f32('a', [1])], 4, ['w.bin', 'w2.bin']);
  await rejectsWith(files, /shard 'w2\.bin' \(weightsManifest\[0\]\.paths\[1\]\) is missing from the model's files/);
  await rejectsWith(model([f32('a', [1])], 4, ['w.bin', './w.bin']), /shard '\.\/w\.bin' .*names a file the model already uses/);
  await rejectsWith(model([f32('a', [1])], 4, ['model.json']), /shard 'model\.json' .*names a file the model already uses/);
});

test('unknown dtypes and quantizations', async () => {
  await rejectsWith(model([{ name: 'a', shape: [1], dtype: 'float64' }], 8), /'a'.*unknown dtype 'float64'/);
  await rejectsWith(model([{ name: 'a', shape: [1], dtype: 'toString' }], 8), /unknown dtype 'toString'/);
  const q = (quantization: unknown) => model([{ name: 'q', shape: [2], dtype: 'float32', quantization }], 2);
  await rejectsWith(q({ dtype: 'int4' }), /'q'.*unknown quantization dtype "int4"/);
  await rejectsWith(q({ dtype: 'uint8', min: 0 }), /'q'.*uint8 quantization needs a finite 'scale'/);
  await rejectsWith(model([{ name: 'b', shape: [2], dtype: 'bool', quantization: { dtype: 'float16' } }], 4), /a bool weight cannot be quantized/);
  await rejectsWith(model([{ name: 's', shape: [1], dtype: 'string', quantization: { dtype: 'uint8' } }], 4), /string weight cannot be quantized/);
});

test('negative, non-integer and non-array shapes', async () => {
  await rejectsWith(model([f32('a', [2, -1])], 0), /'a'.*bad dimension -1 in shape \[2,-1\]/);
  await rejectsWith(model([f32('a', [2.5])], 10), /'a'.*bad dimension 2\.5/);
  await rejectsWith(model([f32('a', '3')], 12), /'a'.*shape is not an array/);
  await rejectsWith(model([f32('a', [2 ** 40, 2 ** 40])], 0), /'a'.*too large/);
});

test('malformed manifest structure and string weights past the end', async () => {
  await rejectsWith(model([f32('a', [1])], 4, 'w.bin'), /paths is not an array of file names/);
  await rejectsWith(model([{ shape: [1], dtype: 'float32' }], 4), /weights\[0\]: name is not a string/);
  const files = model([{ name: 's', shape: [1], dtype: 'string' }], 8);
  files['w.bin'].set([100, 0, 0, 0]);
  await rejectsWith(files, /weight 's' .*ends at byte 104, past the end of its shards \(8 bytes\)/);
  const two = { ...model([f32('a', [1])], 4), 'other.json': text('[{"paths": [], "weights": []}]') };
  await rejectsWith(two, /several TF\.js JSON files in one model: model\.json, other\.json/);
});

test('write rejects foreign or damaged architectures and tensors of the wrong size', async () => {
  const layout = await tfjsFormat.read(memoryModelSource(model([f32('a', [2])], 8)));
  const write = (architecture: Uint8Array, bytes = new Uint8Array(8)) =>
    tfjsFormat.write({ architecture, tensorBytes: async () => bytes }, memoryModelSink());
  const invalid = (pattern: RegExp) => (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT') && pattern.test(e.message);
  await assert.rejects(write(text('GGUF....')), invalid(/not a TF\.js architecture: (bad magic|truncated)/));
  await assert.rejects(write(layout.architecture.subarray(0, layout.architecture.length - 3)), invalid(/truncated/));
  const newer = layout.architecture.slice();
  newer[6] = 9;
  await assert.rejects(write(newer), invalid(/unsupported version 9/));
  await assert.rejects(write(layout.architecture, new Uint8Array(5)), invalid(/tensor 0 has 5 bytes, expected 8/));
});

test('seeded mutations of a real manifest never crash: read succeeds or is INVALID_ARGUMENT', async () => {
  ensureFixtures();
  const manifest = new Uint8Array(readFileSync(fixturePath('face-api', 'tiny_face_detector_model-weights_manifest.json')));
  const bin = new Uint8Array(readFileSync(fixturePath('face-api', 'tiny_face_detector_model.bin')));
  const rand = new SeededRandom(42);
  const outcomes = { ok: 0, invalid: 0 };
  for (let round = 0; round < 150; round++) {
    const bytes = manifest.slice(0, round % 5 === 0 ? rand.int(manifest.length) : manifest.length);
    for (let k = 0; k < 3; k++) bytes[rand.int(bytes.length)] = '0123456789[]{}",:-.e '.charCodeAt(rand.int(21));
    try {
      await tfjsFormat.read(memoryModelSource({ 'm.json': bytes, 'tiny_face_detector_model.bin': bin }));
      outcomes.ok++;
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `round ${round}: ${e}`);
      outcomes.invalid++;
    }
  }
  assert.equal(outcomes.ok + outcomes.invalid, 150);
  assert.ok(outcomes.invalid > 0);
});
