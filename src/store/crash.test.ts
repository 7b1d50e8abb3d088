/**
 * Crash safety, tested: a put (and a gc) is cut at every mutating file operation, with and without torn
 * writes and with the disk full; after the "reboot" the store opens, earlier models are byte-exact, no half
 * model is listed, and the store keeps working. The catalog is SQLite on a real file: its own atomic commit
 * is trusted (an uncommitted transaction rolls back), our side of the protocol is what is tested here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteBackend } from '../backend/sqlite/sqlite-backend.js';
import { FaultEnv } from '../env/fault-env.js';
import { MemoryEnv } from '../env/memory-env.js';
import { SeededRandom } from '../env/seeded-random.js';
import type { Env } from '../env/env.js';
import { NeurStore } from './neur-store.js';
import { safetensorsBytes, type TestTensor } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';

const ENGINE = { segmentBytes: 48 * 1024, pageBytes: 8 * 1024 };
const rng = new SeededRandom(99);
const tmp = tempDir();

function tensors(prefix: string, n: number): TestTensor[] {
  return Array.from({ length: n }, (_, i) => ({ name: `${prefix}.${i}`, dtype: 'F32', shape: [8, 64 + 32 * (i % 5)], bytes: rng.bytes(8 * (64 + 32 * (i % 5)) * 4) }));
}

const shared = tensors('shared', 3);
const modelA = await safetensorsBytes([...shared, ...tensors('a', 8)]);
const modelB = await safetensorsBytes([...shared, ...tensors('b', 12)]);

/**
 * Chunk size of the stores opened: huge (tensors stored whole) or small enough that every tensor is chunked.
 * Chunks code inline (encodeWorkers 0: the same function as on the workers), so hundreds of reopened stores do
 * not each start threads.
 */
let chunkBytes = 1 << 30;

async function open(env: Env, catalogPath: string): Promise<NeurStore> {
  const backend = await SqliteBackend.open('store', { env, catalogPath, create: true, engine: ENGINE });
  return NeurStore.open('store', { env, backend, chunkBytes, encodeWorkers: 0 });
}

async function exact(store: NeurStore, env: MemoryEnv, name: string, bytes: Uint8Array): Promise<void> {
  await store.get(name, `out/${name}`);
  assert.ok(Buffer.from(await env.readFile(`out/${name}`)).equals(bytes), `${name} is byte-exact`);
}

/** A durable store holding model A (and B when asked), plus the inputs; returns it and its catalog file. */
async function baseState(withB: boolean, tag: string): Promise<{ env: MemoryEnv; catalog: string }> {
  const env = new MemoryEnv();
  await env.mkdir('in');
  await env.mkdir('out');
  await env.writeFile('in/a.safetensors', modelA);
  await env.writeFile('in/b.safetensors', modelB);
  for (const f of ['in/a.safetensors', 'in/b.safetensors']) await env.syncFile(f);
  await env.syncDir('in');
  const catalog = join(tmp, `base-${tag}.sqlite`);
  const store = await open(env, catalog);
  await store.put('in/a.safetensors', { name: 'a' });
  if (withB) await store.put('in/b.safetensors', { name: 'b' });
  await store.close();
  return { env, catalog };
}

/** Runs `work` on a copy of the base state with `faults`, "reboots", and returns the survivor. */
async function crashRun(
  base: { env: MemoryEnv; catalog: string },
  k: number,
  options: ConstructorParameters<typeof FaultEnv>[1],
  work: (s: NeurStore) => Promise<unknown>,
  torn: boolean,
): Promise<{ store: NeurStore; env: MemoryEnv; failed: boolean }> {
  const mem = base.env.crashImage();
  const catalog = join(tmp, `run-${k}-${torn}.sqlite`);
  copyFileSync(base.catalog, catalog);
  const fault = new FaultEnv(mem, options);
  const store = await open(fault, catalog);
  let failed = false;
  await work(store).catch(() => (failed = true));
  await store.close().catch(() => undefined);
  const image = mem.crashImage(torn ? { tornBytes: (_p, n) => rng.int(n + 1) } : {});
  return { store: await open(image, catalog), env: image, failed };
}

async function countOps(base: { env: MemoryEnv; catalog: string }, work: (s: NeurStore) => Promise<unknown>): Promise<number> {
  const mem = base.env.crashImage();
  const catalog = join(tmp, 'count.sqlite');
  copyFileSync(base.catalog, catalog);
  const fault = new FaultEnv(mem);
  const store = await open(fault, catalog);
  await work(store);
  await store.close();
  return fault.ops;
}

const putB = (s: NeurStore) => s.put('in/b.safetensors', { name: 'b' });

for (const [label, size] of [['', 1 << 30], [', tensors chunked', 2048]] as const) {
  test(`a put cut at any file operation leaves the earlier model exact and no half model${label}`, async () => {
    chunkBytes = size;
    const base = await baseState(false, `put-${size}`);
    const n = await countOps(base, putB);
    assert.ok(n > 10, `a put makes ${n} mutating operations`);
    for (const torn of [false, true]) {
      for (let k = 1; k <= n; k++) {
        const { store, env, failed } = await crashRun(base, k, { crashAtOp: k, tornBytes: torn ? (len) => rng.int(len + 1) : undefined }, putB, torn);
        assert.ok(failed, `op ${k}: the put reports the crash`);
        assert.deepEqual((await store.list()).map((m) => m.name), ['a'], `op ${k}: only a is listed`);
        await exact(store, env, 'a', modelA);
        await putB(store);
        await exact(store, env, 'b', modelB);
        await store.gc();
        await exact(store, env, 'a', modelA);
        await store.close();
      }
    }
  });

  test(`a full disk fails the put cleanly and the store goes on once space is back${label}`, async () => {
    chunkBytes = size;
    const base = await baseState(false, `full-${size}`);
    for (const room of [0, 100, 5_000, 20_000, 40_000]) {
      const { store, env, failed } = await crashRun(base, room, { diskBytes: room }, putB, false);
      assert.ok(failed, `${room} bytes free: the put fails`);
      assert.deepEqual((await store.list()).map((m) => m.name), ['a']);
      await exact(store, env, 'a', modelA);
      await putB(store);
      await exact(store, env, 'b', modelB);
      await store.close();
    }
  });

  test(`a gc cut at any file operation loses nothing that is referenced${label}`, async () => {
    chunkBytes = size;
    const base = await baseState(true, `gc-${size}`);
    const gc = async (s: NeurStore) => {
      await s.remove('a');
      await s.gc();
    };
    const n = await countOps(base, gc);
    for (let k = 1; k <= n; k++) {
      const { store, env } = await crashRun(base, k, { crashAtOp: k }, gc, false);
      const names = (await store.list()).map((m) => m.name);
      assert.ok(names.includes('b'), `op ${k}: b survives`);
      await exact(store, env, 'b', modelB);
      if (names.includes('a')) await exact(store, env, 'a', modelA);
      await store.gc();
      await exact(store, env, 'b', modelB);
      await store.close();
    }
  });
}

test('get --sync output survives a power cut; without it the target holds the whole model or nothing, never part of it', async () => {
  chunkBytes = 2048;
  const { env, catalog } = await baseState(false, 'get-sync');
  const store = await open(env, catalog);
  await store.get('a', 'out/durable', { sync: true });
  await store.get('a', 'out/cached');
  await store.close();
  const image = env.crashImage();
  assert.ok(Buffer.from(await image.readFile('out/durable')).equals(modelA), 'the synced output is on disk, byte-exact');
  if (await image.exists('out/cached')) {
    assert.ok(Buffer.from(await image.readFile('out/cached')).equals(modelA), 'an unsynced output that survived is whole');
  }
  assert.ok(Buffer.from(await env.readFile('out/cached')).equals(modelA), 'before the cut both are there');
});
