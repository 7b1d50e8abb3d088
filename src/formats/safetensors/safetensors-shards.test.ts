// Sharded safetensors checkpoints through the format contract: detected in a directory (beside config files)
// or by their index, read as one model in shard order, written back as the index and every shard byte for byte
// (oracle: the files as built); an index and shards that disagree, a missing shard and malformed indexes are
// refused naming the problem. A directory holding one safetensors file beside other files reads that file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, SHARED_MNIST_DIR } from '../../../scripts/fetch-fixtures.js';
import { memorySource } from '../byte-source.js';
import { readSafetensors } from './safetensors-reader.js';
import { isNeurStoreError } from '../../errors.js';
import { SeededRandom } from '../../env/seeded-random.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import type { ModelSource, StoredModel } from '../model-format.js';
import { safetensorsBytes, type TestTensor } from '../../store/testing/safetensors-files.js';
import { decodeShardedArchitecture, encodeShardedArchitecture } from './safetensors-architecture.js';
import { safetensorsFormat } from './safetensors-format.js';

const rng = new SeededRandom(2026);
const tensor = (name: string, shape: number[], dtype = 'F32'): TestTensor => ({ name, dtype, shape, bytes: rng.bytes(shape.reduce((a, b) => a * b, 1) * (dtype === 'BF16' ? 2 : 4)) });

/** Shards as Hugging Face names them, and the index (sorted keys, indent 2, as `save_pretrained` writes it). */
const shardTensors: Record<string, TestTensor[]> = {
  'model-00001-of-00003.safetensors': [tensor('model.embed_tokens.weight', [64, 16], 'BF16'), tensor('model.layers.0.mlp.up_proj.weight', [32, 16])],
  'model-00002-of-00003.safetensors': [tensor('model.layers.0.self_attn.q_proj.weight', [16, 16]), tensor('model.layers.1.mlp.up_proj.weight', [32, 16])],
  'model-00003-of-00003.safetensors': [tensor('lm_head.weight', [64, 16], 'BF16'), tensor('model.norm.weight', [16])],
};
const INDEX = 'model.safetensors.index.json';

function indexJson(weightMap: Record<string, string>, extra: Record<string, unknown> = {}): Uint8Array {
  const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => a.localeCompare(b)));
  return new TextEncoder().encode(`${JSON.stringify({ metadata: { total_size: 12345 }, ...extra, weight_map: sorted }, null, 2)}\n`);
}

const weightMap = Object.fromEntries(Object.entries(shardTensors).flatMap(([shard, ts]) => ts.map((t) => [t.name, shard])));
const shards = new Map<string, Uint8Array>();
for (const [name, ts] of Object.entries(shardTensors)) shards.set(name, await safetensorsBytes(ts, { format: 'pt' }));
const checkpoint = (): Map<string, Uint8Array> => new Map([
  ['config.json', new TextEncoder().encode('{"model_type": "llama"}\n')],
  [INDEX, indexJson(weightMap)],
  ...shards,
  ['tokenizer.json', new TextEncoder().encode('{"version": "1.0"}')],
]);

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual, `${what} was not written`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${what} differs (${actual.length} vs ${expected.length} bytes)`);
}

/** read, then write with the tensors the read gave (whole, or in two pieces each when `pieces`). */
async function roundTrip(source: ModelSource, pieces = false): Promise<Map<string, Uint8Array>> {
  const layout = await safetensorsFormat.read(source);
  const model: StoredModel = {
    architecture: layout.architecture,
    tensorBytes: (i) => layout.tensors[i]!.read(),
    ...(pieces ? {
      async *tensorPieces(i: number) {
        const bytes = await layout.tensors[i]!.read();
        const half = Math.floor(bytes.length / 2);
        yield bytes.subarray(0, half);
        yield bytes.subarray(half);
      },
    } : {}),
  };
  const sink = memoryModelSink();
  await safetensorsFormat.write(model, sink);
  return sink.files;
}

test('a sharded checkpoint in a directory: detected, read in shard order, written back as index and shards byte for byte', async () => {
  const files = checkpoint();
  const dir = memoryModelSource(files);
  assert.equal(await safetensorsFormat.detect(dir), true);
  const layout = await safetensorsFormat.read(dir);
  assert.deepEqual(layout.tensors.map((t) => t.name), Object.values(shardTensors).flatMap((ts) => ts.map((t) => t.name)));
  assert.deepEqual(layout.tensors.map((t) => t.dtype), ['BF16', 'F32', 'F32', 'F32', 'BF16', 'F32']);
  for (const pieces of [false, true]) {
    const out = await roundTrip(dir, pieces);
    assert.deepEqual([...out.keys()], [INDEX, ...shards.keys()], 'the index first (the main file), then the shards; no config files');
    sameBytes(out.get(INDEX), files.get(INDEX)!, INDEX);
    for (const [name, bytes] of shards) sameBytes(out.get(name), bytes, name);
  }
});

test('a sharded checkpoint named by its index: the shards are found beside it', async () => {
  const files = checkpoint();
  const byIndex = memoryModelSource(files, [INDEX]);
  assert.equal(await safetensorsFormat.detect(byIndex), true);
  const out = await roundTrip(byIndex);
  for (const [name, bytes] of [[INDEX, files.get(INDEX)!] as const, ...shards]) sameBytes(out.get(name), bytes, name);
});

test('the sharded architecture round-trips and refuses truncated or padded blobs', () => {
  const arch = { index: { fileName: INDEX, bytes: new Uint8Array([1, 2, 3]) }, shards: [{ fileName: 'a.safetensors', header: new Uint8Array([4, 5]) }, { fileName: 'b.safetensors', header: new Uint8Array(0) }] };
  const blob = encodeShardedArchitecture(arch);
  const back = decodeShardedArchitecture(blob);
  assert.equal(back.index.fileName, INDEX);
  assert.deepEqual([...back.index.bytes], [1, 2, 3]);
  assert.deepEqual(back.shards.map((s) => [s.fileName, [...s.header]]), [['a.safetensors', [4, 5]], ['b.safetensors', []]]);
  for (let cut = 1; cut < blob.length; cut++) {
    assert.throws(() => decodeShardedArchitecture(blob.subarray(0, cut)), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /truncated/.test(e.message), `cut at ${cut}`);
  }
  assert.throws(() => decodeShardedArchitecture(Uint8Array.of(...blob, 0)), /past its last shard/);
});

/** The error reading `files` as safetensors gives. */
async function readError(files: Map<string, Uint8Array>, listed?: string[]): Promise<Error & { code?: string }> {
  return safetensorsFormat.read(memoryModelSource(files, listed)).then(() => assert.fail('read succeeded'), (e: Error) => e);
}

test('an index and shards that disagree, a missing shard and malformed indexes are refused, naming the problem', async () => {
  const cases: Array<[string, (f: Map<string, Uint8Array>) => void, string, RegExp]> = [
    ['a shard is missing', (f) => f.delete('model-00002-of-00003.safetensors'), 'NOT_FOUND', /names shard model-00002-of-00003\.safetensors, which is not there/],
    ['a tensor placed in the wrong shard', (f) => f.set(INDEX, indexJson({ ...weightMap, 'lm_head.weight': 'model-00001-of-00003.safetensors' })), 'INVALID_ARGUMENT', /tensor 'lm_head\.weight' is in shard model-00003-of-00003\.safetensors, but .* places it in model-00001-of-00003/],
    ['a tensor the index does not name', (f) => f.set(INDEX, indexJson(Object.fromEntries(Object.entries(weightMap).filter(([t]) => t !== 'model.norm.weight')))), 'INVALID_ARGUMENT', /holds tensor 'model\.norm\.weight', which .* does not name/],
    ['a tensor no shard holds', (f) => f.set(INDEX, indexJson({ ...weightMap, 'extra.weight': 'model-00003-of-00003.safetensors' })), 'INVALID_ARGUMENT', /places tensor 'extra\.weight' in shard model-00003-of-00003\.safetensors, which does not hold it/],
    ['an index that is not JSON', (f) => f.set(INDEX, new TextEncoder().encode('{"weight_map": ')), 'INVALID_ARGUMENT', /not a JSON index/],
    ['an index without weight_map', (f) => f.set(INDEX, new TextEncoder().encode('{"metadata": {}}')), 'INVALID_ARGUMENT', /object "weight_map"/],
    ['an empty weight_map', (f) => f.set(INDEX, indexJson({})), 'INVALID_ARGUMENT', /names no tensors/],
    ['a shard outside the directory', (f) => f.set(INDEX, indexJson({ ...weightMap, 'model.norm.weight': '../x.safetensors' })), 'INVALID_ARGUMENT', /'\.\.\/x\.safetensors' .* is not a file beside the index/],
    ['a shard that is not safetensors', (f) => f.set('model-00003-of-00003.safetensors', new TextEncoder().encode('not a tensor file at all')), 'INVALID_ARGUMENT', /^shard model-00003-of-00003\.safetensors: safetensors header/],
    ['two indexes', (f) => f.set('other.safetensors.index.json', indexJson(weightMap)), 'INVALID_ARGUMENT', /several sharded-checkpoint indexes/],
  ];
  for (const [what, change, code, message] of cases) {
    const files = checkpoint();
    change(files);
    const e = await readError(files);
    assert.equal(e.code, code, `${what}: ${e.message}`);
    assert.match(e.message, message, what);
  }
});

test('a directory of one safetensors file beside config files reads that file; two without an index are refused', async () => {
  const model = shards.get('model-00001-of-00003.safetensors')!;
  const dir = new Map([['config.json', new TextEncoder().encode('{}')], ['model.safetensors', model], ['README.md', new TextEncoder().encode('# x')]]);
  assert.equal(await safetensorsFormat.detect(memoryModelSource(dir)), true);
  const out = await roundTrip(memoryModelSource(dir));
  assert.deepEqual([...out.keys()], ['model.safetensors']);
  sameBytes(out.get('model.safetensors'), model, 'model.safetensors');
  dir.set('other.safetensors', shards.get('model-00002-of-00003.safetensors')!);
  const e = await readError(dir);
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.match(e.message, /2 safetensors files \(model\.safetensors, other\.safetensors\) and no \*\.safetensors\.index\.json/);
  assert.equal(await safetensorsFormat.detect(memoryModelSource(new Map([['config.json', new TextEncoder().encode('{}')]]))), false);
});

test('a real checkpoint (MNIST) split into shards reads as the same tensors and comes back byte for byte', async () => {
  ensureFixtures();
  const name = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).sort()[0]!;
  const whole = await readSafetensors(memorySource(new Uint8Array(readFileSync(join(SHARED_MNIST_DIR, name)))));
  const files = new Map<string, Uint8Array>();
  const map: Record<string, string> = {};
  for (const [i, t] of whole.tensors.entries()) {
    const shard = `model-0000${i + 1}-of-0000${whole.tensors.length}.safetensors`;
    files.set(shard, await safetensorsBytes([{ name: t.name, dtype: t.dtype, shape: [...t.shape], bytes: await t.read() }]));
    map[t.name] = shard;
  }
  files.set(INDEX, indexJson(map));
  const layout = await safetensorsFormat.read(memoryModelSource(files));
  assert.deepEqual(layout.tensors.map((t) => [t.name, t.dtype, t.shape]), whole.tensors.map((t) => [t.name, t.dtype, t.shape]));
  for (const [i, t] of layout.tensors.entries()) assert.ok(Buffer.from(await t.read()).equals(Buffer.from(await whole.tensors[i]!.read())), t.name);
  const out = await roundTrip(memoryModelSource(files));
  for (const [f, bytes] of files) sameBytes(out.get(f), bytes, f);
});
