/**
 * The PostgreSQL backend under failure: a writer killed with SIGKILL mid-write, the server stopped mid-write
 * and restarted, two backends (two processes' pools) storing the same content at once, and opens that cannot
 * succeed (connection refused, wrong password, no database, no store). Assertions are against oracles (the
 * seeded bytes); nothing is timed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { isNeurStoreError } from '../../errors.js';
import { SeededRandom } from '../../env/seeded-random.js';
import type { ModelRow } from '../../catalog/catalog.js';
import type { Backend } from '../backend.js';
import { PostgresBackend } from './postgres-backend.js';
import { pgFixture } from './testing/pg-fixture.js';
import { requirePassword, startServer, stopServer } from './testing/pg-restart.js';

const pg = await pgFixture('postgres-failures.test.ts');

const model = (name: string, keys: bigint[]): ModelRow => ({
  name, format: 'safetensors', createdMs: 1, bytesIn: 1, files: [`${name}.safetensors`], architectureKey: keys[0]!, mode: 'lossless',
  tolerance: 0, tensorCount: keys.length, storedBytes: 0, metadata: {}, tags: {},
});
const tensor = (key: bigint, index: number) => ({
  index, name: `t${index}`, dtype: 'U8', shape: [1], byteLength: 1, recordKey: key, storedAs: 'raw' as const, codec: 'raw' as const,
  depth: 0, storedBytes: 1, bits: 8, maxError: 0,
});

/** Stores `records` and a model naming them all. */
async function putModel(b: Backend, name: string, records: Map<bigint, Uint8Array>): Promise<void> {
  await b.write(async (tx) => {
    await Promise.all([...records].map(([k, v]) => tx.records.append(k, v)));
    await tx.catalog.insertModel(model(name, [...records.keys()]), [...records.keys()].map(tensor));
  });
}

async function readsBack(b: Backend, records: Map<bigint, Uint8Array>): Promise<void> {
  for (const [k, v] of records) assert.ok(Buffer.from(await b.records.get(k)).equals(Buffer.from(v)), `record ${k.toString(16)}`);
}

/** gc as the store runs it: under the exclusive lock, reclaim every record the catalog does not name then. */
async function gc(b: Backend): Promise<number> {
  return (await b.write(async (tx) => {
    const live = await b.catalog.liveRecordKeys();
    return tx.records.reclaim((k) => live.has(k));
  }, { exclusive: true })).recordsDropped;
}

function seeded(seed: number, n: number, size: number): Map<bigint, Uint8Array> {
  const rng = new SeededRandom(seed);
  return new Map(Array.from({ length: n }, () => [rng.u64(), rng.bytes(size)] as const));
}

if (pg) {
  test('postgres: a writer killed with SIGKILL mid-write leaves the store readable; gc reclaims its orphans, nothing named is lost', async () => {
    const url = await pg.freshUrl();
    const b = await PostgresBackend.open(url, { create: true });
    try {
      const named = seeded(1, 8, 50_000);
      await putModel(b, 'kept', named);
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./testing/killed-writer.ts', import.meta.url)), url, '7'],
        { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
        child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was ready`)));
      });
      child.kill('SIGKILL');
      await exited;
      assert.deepEqual((await b.catalog.listModels()).map((m) => m.name), ['kept']);
      await readsBack(b, named);
      const orphans = (await b.records.stats()).records - named.size;
      assert.ok(orphans >= 5, `the killed write's committed appends stay unnamed (${orphans})`);
      assert.equal(await gc(b), orphans);
      assert.equal((await b.records.stats()).records, named.size);
      await readsBack(b, named);
    } finally {
      await b.close();
    }
  });

  test('postgres: the server stopped mid-write fails the write with a clear error; after a restart the store is intact', async () => {
    const url = await pg.freshUrl();
    const b = await PostgresBackend.open(url, { create: true });
    try {
      const named = seeded(2, 6, 300_000);
      await putModel(b, 'before', named);
      const late = seeded(3, 4, 300_000);
      const failed = b.write(async (tx) => {
        const [first, ...rest] = [...late];
        await tx.records.append(first![0], first![1]);
        await tx.catalog.insertModel(model('during', [...late.keys()]), []);
        await stopServer(pg.server);
        for (const [k, v] of rest) await tx.records.append(k, v);
      });
      await assert.rejects(failed, (e) => isNeurStoreError(e, 'IO_ERROR') && !e.message.includes('\n') && e.message.includes(b.location));
      await assert.rejects(b.records.get([...named.keys()][0]!), (e) => isNeurStoreError(e, 'IO_ERROR'));
      await startServer(pg.server);
      // The same backend (its pool reconnects) and a new one see the state from before the write.
      const again = await PostgresBackend.open(url);
      try {
        for (const s of [b, again]) {
          assert.deepEqual((await s.catalog.listModels()).map((m) => m.name), ['before']);
          await readsBack(s, named);
        }
        await gc(again);
        assert.equal((await again.records.stats()).records, named.size);
        await putModel(again, 'after', late);
        await readsBack(b, late);
      } finally {
        await again.close();
      }
    } finally {
      await b.close();
    }
  });

  test('postgres: two backends storing the same content at once store it once; both models read back', async () => {
    const url = await pg.freshUrl();
    const one = await PostgresBackend.open(url, { create: true });
    const two = await PostgresBackend.open(url);
    try {
      const shared = seeded(4, 6, 3 * 1024 * 1024); // several pages each
      const reversed = new Map([...shared].reverse());
      await Promise.all([putModel(one, 'a', shared), putModel(two, 'b', reversed)]);
      assert.equal((await one.records.stats()).records, shared.size);
      assert.deepEqual((await two.catalog.listModels()).map((m) => m.name), ['a', 'b']);
      await readsBack(two, shared);
      assert.equal(await gc(one), 0);
      // The same name from both at once: one wins, the other is CONFLICT naming it.
      const results = await Promise.allSettled([putModel(one, 'c', seeded(5, 2, 10)), putModel(two, 'c', seeded(6, 2, 10))]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(isNeurStoreError(lost.reason, 'CONFLICT') && /'c'/.test(lost.reason.message), String(lost.reason));
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('postgres: a put naming a record races rm of its other model and gc: gc waits for the put, nothing needed is reclaimed', async () => {
    const url = await pg.freshUrl();
    const b = await PostgresBackend.open(url, { create: true });
    const other = await PostgresBackend.open(url); // the rm + gc process
    try {
      const shared = seeded(8, 3, 200_000);
      await putModel(b, 'old', shared);
      let found!: () => void;
      const appended = new Promise<void>((resolve) => { found = resolve; });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const put = b.write(async (tx) => {
        for (const [k, v] of shared) assert.equal(await tx.records.append(k, v), false, 'found, not appended');
        found();
        await gate; // holds what it found, not yet named
        await tx.catalog.insertModel(model('new', [...shared.keys()]), [...shared.keys()].map(tensor));
      });
      await appended;
      await other.write((tx) => tx.catalog.deleteModel('old'));
      const collected = gc(other);
      // Released once gc is seen waiting for the write lock (a state, not a delay).
      for (;;) {
        const waiting = await pg.sql(url, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
        if (waiting.rows.length) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      release();
      await put;
      assert.equal(await collected, 0);
      assert.deepEqual((await other.catalog.listModels()).map((m) => m.name), ['new']);
      await readsBack(other, shared);
    } finally {
      await b.close();
      await other.close();
    }
  });

  for (const ending of ['throws', 'rolls back'] as const) {
    test(`postgres: a record another write found and named survives the write that appended it, which then ${ending}`, async () => {
      const url = await pg.freshUrl();
      const a = await PostgresBackend.open(url, { create: true });
      const b = await PostgresBackend.open(url);
      try {
        const records = seeded(9, 2, 300_000);
        let appended!: () => void;
        const ready = new Promise<void>((resolve) => { appended = resolve; });
        let release!: () => void;
        const gate = new Promise<void>((resolve) => { release = resolve; });
        const failing = a.write(async (tx) => {
          for (const [k, v] of records) assert.equal(await tx.records.append(k, v), true);
          appended();
          await gate;
          if (ending === 'throws') throw new Error('the put failed late');
        }, { rollback: ending === 'rolls back' });
        await ready;
        // B's dedup: not visible as stored yet (A may drop it), so B appends, which claims the record.
        await b.write(async (tx) => {
          for (const [k, v] of records) {
            assert.equal(await b.records.has(k), false, 'another open write\'s record is not found');
            assert.equal(await tx.records.append(k, v), false, 'appending it claims it');
          }
          await tx.catalog.insertModel(model('b', [...records.keys()]), [...records.keys()].map(tensor));
        });
        release();
        if (ending === 'throws') await assert.rejects(failing, /failed late/);
        else await failing;
        for (const s of [a, b]) await readsBack(s, records);
        assert.equal(await gc(b), 0);
        await readsBack(b, records);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }

  test('postgres: gc cannot get the write lock while a put holds it: CONFLICT after the lock timeout, the put then commits', async () => {
    const url = await pg.freshUrl();
    const a = await PostgresBackend.open(url, { create: true });
    const b = await PostgresBackend.open(url, { timeouts: { lockMs: 100 } });
    try {
      let holding!: () => void;
      const held = new Promise<void>((resolve) => { holding = resolve; });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const put = putModel(a, 'm', seeded(10, 1, 1000)).then(() => undefined);
      const slow = a.write(async () => { holding(); await gate; });
      await held;
      await assert.rejects(gc(b), (e) => isNeurStoreError(e, 'CONFLICT') && /write lock/.test(e.message));
      release();
      await Promise.all([put, slow]);
      assert.deepEqual((await b.catalog.listModels()).map((m) => m.name), ['m']);
      assert.equal(await gc(b), 0);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('postgres: opens that cannot succeed are one-line errors without the password', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
    });
    const oneLine = (code: string, ...parts: string[]) => (e: unknown) =>
      isNeurStoreError(e, code as 'IO_ERROR') && !e.message.includes('\n') && !e.message.includes('s3cret') && parts.every((p) => e.message.includes(p));
    await assert.rejects(PostgresBackend.open(`postgres://bob:s3cret@127.0.0.1:${port}/x`), oneLine('IO_ERROR', 'connection refused', `bob@127.0.0.1:${port}/x`));

    const url = await pg.freshUrl();
    await pg.sql(pg.server.url, "CREATE ROLE alice LOGIN SUPERUSER PASSWORD 'right'");
    await requirePassword(pg.server, 'alice', (q) => pg.sql(pg.server.url, q));
    const as = (password: string, db = url.slice(url.lastIndexOf('/') + 1)) => `postgres://alice:${password}@127.0.0.1:${pg.server.port}/${db}`;
    await assert.rejects(PostgresBackend.open(as('s3cret'), { create: true }), oneLine('IO_ERROR', 'password authentication failed', 'alice@'));
    // No store in the database: NOT_FOUND with the way to make one; then made.
    await assert.rejects(PostgresBackend.open(as('right')), oneLine('NOT_FOUND', 'neurstore init'));
    const made = await PostgresBackend.open(as('right'), { create: true });
    assert.equal(made.location, `postgres://alice@127.0.0.1:${pg.server.port}/${url.slice(url.lastIndexOf('/') + 1)}`);
    await made.close();
    // No database: NOT_FOUND; `create` makes it.
    await assert.rejects(PostgresBackend.open(as('right', 'nodb')), oneLine('NOT_FOUND', 'nodb'));
    const created = await PostgresBackend.open(as('right', 'nodb'), { create: true });
    await created.close();
    // Read-only: reads work, writes are CONFLICT.
    const ro = await PostgresBackend.open(as('right', 'nodb'), { readOnly: true });
    try {
      assert.deepEqual(await ro.catalog.listModels(), []);
      await assert.rejects(ro.write(async () => undefined), (e) => isNeurStoreError(e, 'CONFLICT'));
    } finally {
      await ro.close();
    }
  });
}
