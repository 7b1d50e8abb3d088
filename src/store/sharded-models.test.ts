/**
 * Sharded safetensors checkpoints in the store, as a user puts a Hugging Face model directory: the directory
 * (index, shards, config files) is put as one model, its large tensors chunked; `get` to the index's path
 * writes the index and every shard beside it byte for byte (oracle: the files put), and nothing else. A
 * sharded fine-tune finds its base's tensors by name across shards and is stored as XOR deltas, smaller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../env/seeded-random.js';
import { NeurStore } from './neur-store.js';
import { writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';
import { bf16Weights } from './testing/bf16-weights.js';

const rng = new SeededRandom(4242);
const CHUNK = 64 * 1024;
const INDEX = 'model.safetensors.index.json';

const base: TestTensor[][] = [
  [
    { name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [512, 256], bytes: bf16Weights(rng, 512 * 256) }, // 4 chunks
    { name: 'model.norm.weight', dtype: 'F32', shape: [256], bytes: rng.bytes(1024) }, // stored whole
  ],
  [
    { name: 'model.layers.0.mlp.up_proj.weight', dtype: 'BF16', shape: [300, 301], bytes: bf16Weights(rng, 300 * 301) },
    { name: 'lm_head.weight', dtype: 'BF16', shape: [512, 256], bytes: bf16Weights(rng, 512 * 256) },
  ],
];
const tuned = base.map((shard) => shard.map((t) => (t.dtype === 'BF16' ? { ...t, bytes: bf16Weights(rng, t.bytes.length / 2, t.bytes, 0.001) } : t)));

/** A model directory as `save_pretrained` leaves it: config, index, shards. Returns the directory. */
async function modelDir(shards: TestTensor[][]): Promise<string> {
  const dir = tempDir();
  writeFileSync(join(dir, 'config.json'), '{"model_type": "llama", "hidden_size": 256}\n');
  const weightMap: Record<string, string> = {};
  for (const [i, tensors] of shards.entries()) {
    const file = `model-0000${i + 1}-of-0000${shards.length}.safetensors`;
    await writeSafetensorsFile(join(dir, file), tensors, { format: 'pt' });
    for (const t of tensors) weightMap[t.name] = file;
  }
  const total = shards.flat().reduce((n, t) => n + t.bytes.length, 0);
  writeFileSync(join(dir, INDEX), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
  return dir;
}

/** `get`s `name` to an index path in a fresh directory and checks the files written against those of `dir`. */
async function sameFiles(store: NeurStore, name: string, dir: string): Promise<void> {
  const out = tempDir();
  const written = await store.get(name, join(out, INDEX));
  const expected = [INDEX, 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  assert.deepEqual(written, expected.map((f) => join(out, f)), 'the index first, then each shard');
  assert.deepEqual(readdirSync(out).sort(), [...expected].sort(), 'no config files, no temporaries');
  for (const f of expected) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(dir, f))), `${name}: ${f} byte-exact`);
}

test('a sharded checkpoint directory is put as one model and comes back as its index and shards, byte-exact', async () => {
  const dir = await modelDir(base);
  const store = await NeurStore.init(join(tempDir(), 's'), { chunkBytes: CHUNK });
  const r = await store.put(dir, { name: 'base' });
  assert.equal(r.format, 'safetensors');
  assert.deepEqual(r.tensors.map((t) => [t.name, t.codec === 'chunked']), [
    ['model.embed_tokens.weight', true], ['model.norm.weight', false], ['model.layers.0.mlp.up_proj.weight', true], ['lm_head.weight', true],
  ]);
  await sameFiles(store, 'base', dir);
  assert.equal((await store.verify('base')).ok, true);
  // The same checkpoint named by its index is the same model: every tensor a duplicate.
  const again = await store.put(join(dir, INDEX), { name: 'again' });
  assert.ok(again.tensors.every((t) => t.storedAs === 'duplicate'), 'named by its index, the checkpoint dedups whole');
  await sameFiles(store, 'again', dir);
  await store.close();
});

test('a sharded fine-tune is coded against its base tensor by tensor across shards, smaller, and reads back byte-exact', async () => {
  const baseDir = await modelDir(base);
  const tunedDir = await modelDir(tuned);
  const store = await NeurStore.init(join(tempDir(), 's'), { chunkBytes: CHUNK });
  const b = await store.put(baseDir, { name: 'base' });
  const t = await store.put(tunedDir, { name: 'tuned' });
  for (const name of ['model.embed_tokens.weight', 'lm_head.weight', 'model.layers.0.mlp.up_proj.weight']) {
    const ft = t.tensors.find((x) => x.name === name)!;
    const own = b.tensors.find((x) => x.name === name)!;
    assert.equal(ft.storedAs, 'lossless-delta', name);
    assert.equal(ft.baseKey, own.recordKey, `${name}: coded against the base's tensor of the same name`);
    assert.ok(ft.storedBytes < 0.8 * own.storedBytes, `${name}: ${ft.storedBytes} vs ${own.storedBytes} bytes`);
  }
  await sameFiles(store, 'tuned', tunedDir);
  await store.close();
});

test('get into a directory (existing, or a path ending in /) writes the model\'s files under the names they were put with', async () => {
  const dir = await modelDir(base);
  const single = await writeSafetensorsFile(join(tempDir(), 'weights.safetensors'), base[0]!);
  const store = await NeurStore.init(join(tempDir(), 's'), { chunkBytes: CHUNK });
  await store.put(dir, { name: 'sharded' });
  await store.put(single, { name: 'single' });
  const out = tempDir();
  const files = [INDEX, 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  assert.deepEqual(await store.get('sharded', out), files.map((f) => join(out, f)), 'the index first, then the shards');
  for (const f of files) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(dir, f))), `${f} byte-exact`);
  assert.deepEqual(await store.get('single', out), [join(out, 'weights.safetensors')]);
  assert.ok(readFileSync(join(out, 'weights.safetensors')).equals(readFileSync(single)));
  assert.deepEqual(readdirSync(out).sort(), [...files, 'weights.safetensors'].sort(), 'nothing else: no temporaries');
  const fresh = join(tempDir(), 'new', 'dir');
  assert.deepEqual(await store.get('sharded', `${fresh}/`), files.map((f) => join(fresh, f)), 'a path ending in / is a directory, made if missing');
  for (const f of files) assert.ok(readFileSync(join(fresh, f)).equals(readFileSync(join(dir, f))), `${f} byte-exact`);
  await store.close();
});
