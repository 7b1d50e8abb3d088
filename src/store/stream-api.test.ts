/**
 * The facade's stream entry points: `putSource` (a model from any ModelSource), `write` (a model into any
 * ModelSink), and AbortSignal on get/write, load and gc. Oracles: the seeded bytes that were put; aborts come
 * from progress callbacks or after a yielded tensor, never from timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import { memoryModelSink, memoryModelSource } from '../formats/memory-model-source.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';
import { safetensorsBytes, writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';

const CHUNK = 64 * 1024;
const open = (dir: string): Promise<NeurStore> => NeurStore.init(dir, { chunkBytes: CHUNK, decodeWorkers: 0, encodeWorkers: 0 });

/** Small tensors and one large enough to be stored as chunks (several of them). */
function tensors(seed: number): TestTensor[] {
  const rng = new SeededRandom(seed);
  const small = Array.from({ length: 6 }, (_, i) => {
    const shape = [1 + rng.int(30), 1 + rng.int(30)];
    return { name: `layer${i}.weight`, dtype: 'F32', shape, bytes: rng.bytes(shape[0]! * shape[1]! * 4) };
  });
  return [...small, { name: 'big.weight', dtype: 'F32', shape: [256, 256], bytes: rng.bytes(256 * 256 * 4) }];
}

const cancelledError = (e: unknown): boolean => isNeurStoreError(e, 'CANCELLED');

test('putSource from memory stores what put stores from the same bytes on disk', async () => {
  const dir = tempDir();
  const bytes = await safetensorsBytes(tensors(1));
  const path = await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors(1));
  const fromDisk = await open(join(dir, 'disk'));
  const fromMemory = await open(join(dir, 'memory'));
  for (const options of [{ name: 'lossless' }, { name: 'lossy', tolerance: 1e-3 }]) {
    const a = await fromDisk.put(path, options);
    const b = await fromMemory.putSource(memoryModelSource({ 'model.safetensors': bytes }), options);
    assert.equal(b.format, 'safetensors');
    assert.deepEqual(b.files, a.files);
    assert.equal(b.bytesIn, a.bytesIn);
    assert.equal(b.bytesIn, bytes.length);
    assert.equal(b.mode, a.mode);
    assert.equal(b.architectureKey, a.architectureKey);
    assert.equal(b.storedBytes, a.storedBytes);
    const info = await fromMemory.info(options.name);
    assert.deepEqual(info.tensors.map((t) => t.recordKey), (await fromDisk.info(options.name)).tensors.map((t) => t.recordKey));
    assert.ok(info.tensors.some((t) => t.codec === 'chunked'), 'the large tensor is chunked');
    const outA = join(dir, `${options.name}-a.safetensors`);
    const outB = join(dir, `${options.name}-b.safetensors`);
    await fromDisk.get(options.name, outA);
    await fromMemory.get(options.name, outB);
    assert.deepEqual(readFileSync(outB), readFileSync(outA));
  }
  assert.deepEqual(readFileSync(join(dir, 'lossless-b.safetensors')), Buffer.from(bytes), 'lossless: the original bytes');
  // The same file again under another model name: all duplicates (the file name is part of the architecture).
  const again = await fromMemory.putSource(memoryModelSource({ 'model.safetensors': bytes }), { name: 'copy' });
  assert.equal(again.storedBytes, 0);
  await fromDisk.close();
  await fromMemory.close();
});

test('putSource honours its signal: CANCELLED, nothing listed', async () => {
  const store = await open(join(tempDir(), 's'));
  const bytes = await safetensorsBytes(tensors(2));
  const stop = new AbortController();
  await assert.rejects(store.putSource(memoryModelSource({ 'm.safetensors': bytes }), {
    name: 'm', signal: stop.signal, onProgress: () => stop.abort(),
  }), cancelledError);
  assert.deepEqual(await store.list(), []);
  await assert.rejects(store.putSource(memoryModelSource({ 'm.safetensors': bytes }), { name: 'm', signal: stop.signal }), cancelledError);
  await store.putSource(memoryModelSource({ 'm.safetensors': bytes }), { name: 'm' });
  assert.equal((await store.verify()).ok, true);
  await store.close();
});

test('write into an in-memory sink gives the bytes get writes', async () => {
  const dir = tempDir();
  const bytes = await safetensorsBytes(tensors(3));
  const store = await open(join(dir, 's'));
  await store.putSource(memoryModelSource({ 'm.safetensors': bytes }), { name: 'm' });
  const sink = memoryModelSink();
  const progress: number[] = [];
  await store.write('m', sink, { onProgress: (p) => progress.push(p.done) });
  assert.equal(sink.files.size, 1);
  const written = [...sink.files.values()][0]!;
  assert.deepEqual(Buffer.from(written), Buffer.from(bytes));
  const out = join(dir, 'out.safetensors');
  await store.get('m', out);
  assert.deepEqual(readFileSync(out), Buffer.from(written));
  assert.ok(progress.length > 2 && progress.at(-1) === tensors(3).reduce((n, t) => n + t.bytes.length, 0));
  await assert.rejects(store.write('missing', memoryModelSink()), (e: unknown) => isNeurStoreError(e, 'NOT_FOUND'));
  await store.close();
});

test('a get aborted mid-way leaves no output file and the store intact', async () => {
  const dir = tempDir();
  const bytes = await safetensorsBytes(tensors(4));
  const store = await open(join(dir, 's'));
  await store.putSource(memoryModelSource({ 'm.safetensors': bytes }), { name: 'm' });
  const outDir = join(dir, 'out');
  const out = join(outDir, 'm.safetensors');
  // Aborted at the first tensor, and (the large tensor's pieces) after the first chunk.
  for (const after of [1, tensors(4).length]) {
    const stop = new AbortController();
    let calls = 0;
    await assert.rejects(store.get('m', out, { signal: stop.signal, onProgress: () => (++calls === after ? stop.abort() : undefined) }), cancelledError);
    assert.equal(existsSync(out), false, 'nothing at the output path');
    assert.deepEqual(readdirSync(outDir), [], 'no staged file left');
  }
  const stopped = new AbortController();
  stopped.abort();
  await assert.rejects(store.get('m', out, { signal: stopped.signal }), cancelledError);
  const sink = memoryModelSink();
  await assert.rejects(store.write('m', sink, { signal: stopped.signal }), cancelledError);
  assert.equal(sink.files.size, 0, 'a write cancelled before it began creates nothing');
  assert.deepEqual(await store.get('m', out), [out]);
  assert.deepEqual(readFileSync(out), Buffer.from(bytes));
  assert.equal((await store.verify()).ok, true);
  await store.close();
});

test('a load aborted after its first tensor stops with CANCELLED', async () => {
  const store = await open(join(tempDir(), 's'));
  const ts = tensors(5);
  await store.putSource(memoryModelSource({ 'm.safetensors': await safetensorsBytes(ts) }), { name: 'm' });
  const stop = new AbortController();
  const seen: string[] = [];
  await assert.rejects((async () => {
    for await (const t of store.load('m', { mode: 'exact', signal: stop.signal })) {
      seen.push(t.name);
      stop.abort();
    }
  })(), cancelledError);
  assert.deepEqual(seen, [ts[0]!.name]);
  await assert.rejects(store.load('m', { signal: stop.signal }).next(), cancelledError);
  // The store still loads the model whole, exactly.
  const loaded: Uint8Array[] = [];
  for await (const t of store.load('m', { mode: 'exact' })) {
    assert.equal(t.form, 'bytes');
    if (t.form === 'bytes') loaded.push(t.bytes);
  }
  assert.deepEqual(loaded.map((b) => Buffer.from(b)), ts.map((t) => Buffer.from(t.bytes)));
  await store.close();
});

test('an aborted gc is CANCELLED and reclaims nothing; a later gc works and every model stays byte-exact', async () => {
  const dir = tempDir();
  const store = await open(join(dir, 's'));
  const models = [6, 7, 8].map((seed) => ({ name: `m${seed}`, ts: tensors(seed) }));
  const bytes = new Map<string, Uint8Array>();
  for (const m of models) {
    bytes.set(m.name, await safetensorsBytes(m.ts));
    await store.putSource(memoryModelSource({ [`${m.name}.safetensors`]: bytes.get(m.name)! }), { name: m.name });
  }
  await store.remove('m7');
  const before = await store.stats();

  const stopped = new AbortController();
  stopped.abort();
  await assert.rejects(store.gc({ signal: stopped.signal }), cancelledError);
  const stop = new AbortController();
  let calls = 0;
  await assert.rejects(store.gc({ signal: stop.signal, onProgress: () => (++calls === 1 ? stop.abort() : undefined) }), cancelledError);
  assert.equal(calls, 1, 'stopped after the first live record');
  assert.deepEqual(await store.stats(), before, 'nothing reclaimed');

  let walked = 0;
  const gc = await store.gc({ onProgress: (p) => (walked = p.done) });
  assert.ok(gc.recordsDropped > 0 && gc.bytesReclaimed > 0, 'the removed model\'s records are reclaimed');
  assert.ok(walked > 0);
  for (const m of models.filter((x) => x.name !== 'm7')) {
    const sink = memoryModelSink();
    await store.write(m.name, sink);
    assert.deepEqual(Buffer.from([...sink.files.values()][0]!), Buffer.from(bytes.get(m.name)!));
  }
  assert.equal((await store.verify()).ok, true);
  await store.close();
});
