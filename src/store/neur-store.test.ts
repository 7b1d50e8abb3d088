import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';
import { writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';

const MNIST = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).map((f) => join(SHARED_MNIST_DIR, f));

function randomTensors(rng: SeededRandom, n: number): TestTensor[] {
  return Array.from({ length: n }, (_, i) => {
    const shape = [1 + rng.int(40), 1 + rng.int(40)];
    return { name: `layer${i}.weight`, dtype: 'F32', shape, bytes: rng.bytes(shape[0]! * shape[1]! * 4) };
  });
}

test('the three MNIST checkpoints come back byte-identical', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  for (const [i, f] of MNIST.entries()) await store.put(f, { name: `mnist-${i}`, tags: { source: 'tinygrad' } });
  for (const [i, f] of MNIST.entries()) {
    const out = join(dir, `out-${i}.safetensors`);
    assert.deepEqual(await store.get(`mnist-${i}`, out), [out]);
    assert.deepEqual(readFileSync(out), readFileSync(f));
  }
  const models = await store.list();
  assert.deepEqual(models.map((m) => m.name), ['mnist-0', 'mnist-1', 'mnist-2']);
  assert.deepEqual(models[0]!.tags, { source: 'tinygrad' });
  const info = await store.info('mnist-0');
  assert.deepEqual(info.tensors.map((t) => [t.name, t.dtype, t.shape]), [['l1.weight', 'F32', [128, 784]], ['l2.weight', 'F32', [10, 128]]]);
  await store.close();
});

test('exact dedup: the same file twice and a renamed copy store their tensors once', async () => {
  const dir = tempDir();
  const rng = new SeededRandom(11);
  const tensors = randomTensors(rng, 12);
  const a = await writeSafetensorsFile(join(dir, 'a.safetensors'), tensors);
  const renamed = await writeSafetensorsFile(join(dir, 'b.safetensors'), tensors.map((t, i) => ({ ...t, name: `renamed.${i}` })).reverse());
  const store = await NeurStore.init(join(dir, 'store'));
  const first = await store.put(a, { name: 'a' });
  const second = await store.put(a, { name: 'a-again' });
  const third = await store.put(renamed, { name: 'renamed' });
  assert.ok(first.storedBytes > 0);
  assert.equal(second.storedBytes, 0, 'same file: nothing new');
  const renamedInfo = await store.info('renamed');
  assert.ok(renamedInfo.tensors.every((t) => t.storedAs === 'duplicate'), 'renamed tensors are all duplicates');
  assert.ok(third.storedBytes < 1000, `only the new header is stored (${third.storedBytes} bytes)`);
  const stats = await store.stats();
  assert.equal(stats.tensors, 36);
  assert.equal(stats.dedupHits, 24);
  const tensorBytes = tensors.reduce((n, t) => n + t.bytes.length, 0);
  assert.ok(stats.segmentBytes < tensorBytes * 1.05 + 4096, `segments hold the tensors once (${stats.segmentBytes} vs ${tensorBytes})`);
  for (const [name, file] of [['a', a], ['a-again', a], ['renamed', renamed]] as const) {
    const out = join(dir, `${name}.out`);
    await store.get(name, out);
    assert.deepEqual(readFileSync(out), readFileSync(file));
  }
  await store.close();
});

test('rm and gc reclaim space without touching the other models', async () => {
  const dir = tempDir();
  const rng = new SeededRandom(12);
  const shared = randomTensors(rng, 4);
  const a = await writeSafetensorsFile(join(dir, 'a.safetensors'), [...shared, ...randomTensors(rng, 4).map((t) => ({ ...t, name: `a.${t.name}` }))]);
  const b = await writeSafetensorsFile(join(dir, 'b.safetensors'), [...shared, ...randomTensors(rng, 4).map((t) => ({ ...t, name: `b.${t.name}` }))]);
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(a, { name: 'a' });
  await store.put(b, { name: 'b' });
  const before = await store.stats();
  await store.remove('a');
  await assert.rejects(store.remove('a'), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  const r = await store.gc();
  const after = await store.stats();
  assert.ok(r.bytesReclaimed > 0 && after.segmentBytes < before.segmentBytes);
  await store.get('b', join(dir, 'b.out'));
  assert.deepEqual(readFileSync(join(dir, 'b.out')), readFileSync(b));
  await assert.rejects(store.get('a', join(dir, 'a.out')), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  await store.close();
  const reopened = await NeurStore.open(join(dir, 'store'));
  await reopened.get('b', join(dir, 'b2.out'));
  assert.deepEqual(readFileSync(join(dir, 'b2.out')), readFileSync(b));
  await reopened.close();
});

test('bad input is refused with a clear error and changes nothing', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(MNIST[0]!, { name: 'good' });
  const before = await store.stats();
  const good = readFileSync(MNIST[0]!);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['truncated', good.subarray(0, good.length - 100), /./],
    ['lying-header', Buffer.concat([Buffer.from([0xff, 0xff, 0, 0, 0, 0, 0, 0]), good.subarray(8)]), /./],
    ['unknown-dtype', Buffer.from(good.toString('latin1').replace('"F32"', '"Q99"'), 'latin1'), /Q99/],
    ['not-a-model', Buffer.from('hello world, not a model at all'), /not a model/],
  ];
  for (const [name, bytes, re] of cases) {
    const f = join(dir, `${name}.safetensors`);
    writeFileSync(f, bytes);
    await assert.rejects(store.put(f, { name }), (e: Error) => isNeurStoreError(e, 'INVALID_ARGUMENT') && re.test(e.message), name);
  }
  await assert.rejects(store.put(join(dir, 'missing.safetensors'), { name: 'm' }), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  await assert.rejects(store.put(MNIST[1]!, { name: 'good' }), (e) => isNeurStoreError(e, 'CONFLICT'));
  await assert.rejects(store.put(MNIST[1]!, { name: '' }), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  const after = await store.stats();
  assert.equal(after.models, before.models);
  assert.equal(after.segmentBytes, before.segmentBytes, 'no bytes were added to the segments');
  await store.get('good', join(dir, 'good.out'));
  assert.deepEqual(readFileSync(join(dir, 'good.out')), good);
  await store.close();
});

test('opening a directory that holds no store says how to make one', async () => {
  await assert.rejects(NeurStore.open(join(tempDir(), 'nothing')), (e: Error) => isNeurStoreError(e, 'NOT_FOUND') && /neurstore init/.test(e.message));
});

test('a flipped bit in a segment file is CORRUPTION naming the file, never wrong bytes', async () => {
  const { openSync, readSync, writeSync, closeSync, statSync } = await import('node:fs');
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(MNIST[0]!, { name: 'm' });
  await store.close();
  const seg = join(dir, 'store', 'segments', readdirSync(join(dir, 'store', 'segments'))[0]!);
  const fd = openSync(seg, 'r+');
  const at = Math.floor(statSync(seg).size / 2); // inside l1.weight's bytes
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0]! ^= 0x10;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
  const reopened = await NeurStore.open(join(dir, 'store'));
  await assert.rejects(reopened.get('m', join(dir, 'out.safetensors')), (e: Error) =>
    isNeurStoreError(e, 'CORRUPTION') && e.message.includes(seg) && /checksum/.test(e.message));
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('out')), [], 'no partial output is left');
  // Every load mode and runtime reads through the same checks.
  for (const mode of ['exact', 'fp32', 'int8+delta'] as const) {
    await assert.rejects((async () => { for await (const t of reopened.load('m', { mode })) void t; })(), (e: Error) =>
      isNeurStoreError(e, 'CORRUPTION') && e.message.includes(seg), mode);
  }
  await reopened.close();
});

test('a model removed and put again under its name by another store instance reads back as the new one (rows kept between gets are not reused)', async () => {
  const dir = tempDir();
  const rng = new SeededRandom(23);
  const a = await writeSafetensorsFile(join(dir, 'a.safetensors'), randomTensors(rng, 3));
  const b = await writeSafetensorsFile(join(dir, 'b.safetensors'), randomTensors(rng, 5));
  const reader = await NeurStore.init(join(dir, 'store'));
  const writer = await NeurStore.open(join(dir, 'store'));
  await writer.put(a, { name: 'm' });
  const out = join(dir, 'out.safetensors');
  for (const [file, step] of [[a, 'first'], [a, 'again']] as const) {
    await reader.get('m', out);
    assert.deepEqual(readFileSync(out), readFileSync(file), `${step} get`);
  }
  await writer.remove('m');
  await writer.put(b, { name: 'm' });
  await reader.get('m', out);
  assert.deepEqual(readFileSync(out), readFileSync(b), 'the model put again is read, not the rows of the removed one');
  await writer.close();
  await reader.close();
});
