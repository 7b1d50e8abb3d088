/**
 * Conformance suite of `RecordStore` and `RecordWriter` (backend.ts), shared by every backend. A backend's test
 * file runs it in one line with the factory it gives backend.case.ts:
 *
 *   runRecordStoreCases('postgres', factory);
 *
 * The factory gives a fresh, empty, writable store: `backend` open on it, `reopen()` opening another backend on
 * the same store (the suite closes every backend it gets), `cleanup()` dropping the store (called last), and
 * optionally `damage(key)`: flips a byte of that record's stored payload behind the backend's back and returns
 * the place a CORRUPTION message must name (a segment file, `record_pages key <hex>`); without it that case is
 * skipped. Only what the contract promises is checked: e.g. records of a write that threw may stay (unnamed).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from './backend.js';
import { withBackend } from './backend.case.js';
import { isNeurStoreError } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';

export interface RecordStoreHarness {
  readonly backend: Backend;
  reopen(): Promise<Backend>;
  cleanup(): Promise<void>;
  damage?(key: bigint): Promise<string>;
}

type Factory = (t: TestContext) => Promise<RecordStoreHarness>;

const same = (a: Uint8Array, b: Uint8Array, what: string): void => {
  assert.equal(a.length, b.length, `${what}: length`);
  assert.ok(Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length)), `${what}: bytes`);
};

async function appendAll(b: Backend, records: Map<bigint, Uint8Array>): Promise<void> {
  await b.write(async (tx) => {
    for (const [k, v] of records) assert.equal(await tx.records.append(k, v), true, `append ${k.toString(16)}`);
  });
}

/** Every record of `oracle` reads back exact (whole and by prefix) from every backend given. */
async function readBack(stores: Backend[], oracle: Map<bigint, Uint8Array>): Promise<void> {
  for (const s of stores) {
    for (const [k, v] of oracle) {
      assert.equal(await s.records.has(k), true, `has ${k.toString(16)}`);
      same(await s.records.get(k), v, `record ${k.toString(16)}`);
      same(await s.records.readPrefix(k, 7), v.subarray(0, 7), `prefix of ${k.toString(16)}`);
    }
  }
}

export function runRecordStoreCases(name: string, factory: Factory): void {
  const withStore = (t: TestContext, body: (h: RecordStoreHarness, reopen: () => Promise<Backend>) => Promise<void>): Promise<void> =>
    withBackend(t, factory, (_b, reopen, h) => body(h, reopen));

  test(`${name} records: append, get, readPrefix and has, by 64-bit key, inside the write and after reopening`, async (t) => {
    await withStore(t, async ({ backend: b }, reopen) => {
      const rng = new SeededRandom(11);
      const oracle = new Map<bigint, Uint8Array>([[0n, rng.bytes(1)], [2n ** 64n - 1n, rng.bytes(300)], [2n ** 63n, new Uint8Array(0)]]);
      for (let i = 0; i < 30; i++) oracle.set(rng.u64(), rng.bytes(rng.int(70_000)));
      await b.write(async (tx) => {
        for (const [k, v] of oracle) {
          assert.equal(await tx.records.append(k, v), true);
          assert.equal(await b.records.has(k), true, 'a write sees its own append');
          same(await b.records.get(k), v, 'a write reads its own append'); // contract: reads see the caller's own open write
        }
        const parts = [rng.bytes(5), new Uint8Array(0), rng.bytes(1000), rng.bytes(3)];
        assert.equal(await tx.records.append(77n, parts), true);
        oracle.set(77n, Buffer.concat(parts));
      });
      await readBack([b, await reopen()], oracle);
      const short = [...oracle].find(([, v]) => v.length === 1)!;
      same(await b.records.readPrefix(short[0], 100), short[1], 'a prefix longer than the record is the record');
      same(await b.records.readPrefix(2n ** 63n, 10), new Uint8Array(0), 'prefix of an empty record');
      assert.equal(await b.records.has(5n), false);
      await assert.rejects(b.records.get(5n), (e) => isNeurStoreError(e, 'NOT_FOUND'));
      await assert.rejects(b.records.readPrefix(5n, 4), (e) => isNeurStoreError(e, 'NOT_FOUND'));
      assert.equal((await b.records.stats()).records, oracle.size);
      assert.deepEqual(await b.records.damaged(), []);
    });
  });

  test(`${name} records: appending an existing key returns false and writes nothing, in the same write and a later one`, async (t) => {
    await withStore(t, async ({ backend: b }, reopen) => {
      const first = new SeededRandom(12).bytes(5000);
      await b.write(async (tx) => {
        assert.equal(await tx.records.append(9n, first), true);
        assert.equal(await tx.records.append(9n, new Uint8Array([1])), false);
      });
      const before = await b.records.stats();
      await b.write(async (tx) => assert.equal(await tx.records.append(9n, [new Uint8Array(9000)]), false));
      for (const s of [b, await reopen()]) {
        same(await s.records.get(9n), first, 'the first payload stays');
        assert.equal((await s.records.stats()).records, before.records);
      }
    });
  });

  test(`${name} records: a write that throws rethrows unchanged; its records are never named, and reclaim drops them`, async (t) => {
    await withStore(t, async ({ backend: b }, reopen) => {
      const kept = new Map([[1n, new Uint8Array([1, 2, 3])]]);
      await appendAll(b, kept);
      const err = new Error('boom');
      await assert.rejects(b.write(async (tx) => {
        await tx.records.append(2n, new Uint8Array([4]));
        await tx.records.append(3n, [new Uint8Array(100_000)]);
        throw err;
      }), (e) => e === err);
      assert.equal(await b.write(async (tx) => { await tx.records.append(4n, new Uint8Array([5])); return 'dry'; }, { rollback: true }), 'dry');
      // The contract lets them stay until gc: reclaim with only the kept record live leaves exactly that one.
      await b.write((tx) => tx.records.reclaim((k) => kept.has(k)), { exclusive: true });
      const again = await reopen();
      for (const s of [b, again]) {
        for (const k of [2n, 3n, 4n]) assert.equal(await s.records.has(k), false, `record ${k} of a failed write`);
        assert.equal((await s.records.stats()).records, 1);
      }
      await readBack([again], kept);
    });
  });

  test(`${name} records: reclaim keeps live records byte-exact and drops the rest`, async (t) => {
    await withStore(t, async ({ backend: b }, reopen) => {
      const rng = new SeededRandom(13);
      const oracle = new Map<bigint, Uint8Array>();
      for (let i = 0; i < 40; i++) oracle.set(rng.u64(), rng.bytes(1 + rng.int(20_000)));
      oracle.set(2n ** 64n - 2n, rng.bytes(5 * 1024 * 1024 + 3)); // a record of several pages
      await appendAll(b, oracle);
      const live = new Set([...oracle.keys()].filter((_, i) => i % 3 !== 1));
      const r = await b.write((tx) => tx.records.reclaim((k) => live.has(k)), { exclusive: true });
      assert.equal(r.recordsDropped, oracle.size - live.size);
      assert.ok(r.bytesReclaimed > 0);
      const again = await reopen();
      for (const s of [b, again]) {
        for (const k of oracle.keys()) assert.equal(await s.records.has(k), live.has(k), `record ${k.toString(16)}`);
        assert.equal((await s.records.stats()).records, live.size);
      }
      await readBack([again], new Map([...oracle].filter(([k]) => live.has(k))));
      const none = await b.write((tx) => tx.records.reclaim(() => true), { exclusive: true });
      assert.equal(none.recordsDropped, 0);
    });
  });

  test(`${name} records: large records (20 MiB, given in parts) read back byte-exact`, async (t) => {
    await withStore(t, async ({ backend: b }, reopen) => {
      const rng = new SeededRandom(14);
      const whole = rng.bytes(20 * 1024 * 1024 + 12_345);
      const parts = [whole.subarray(0, 24), whole.subarray(24, 3_000_001), whole.subarray(3_000_001)];
      await b.write(async (tx) => assert.equal(await tx.records.append(42n, parts), true));
      const again = await reopen();
      for (const s of [b, again]) {
        same(await s.records.get(42n), whole, 'large record');
        same(await s.records.readPrefix(42n, 64), whole.subarray(0, 64), 'large record prefix');
      }
    });
  });

  test(`${name} records: a flipped byte is CORRUPTION naming the place, and other records still read`, async (t) => {
    await withStore(t, async (h, reopen) => {
      if (!h.damage) return t.skip('the factory has no damage hook');
      const rng = new SeededRandom(15);
      const oracle = new Map([[100n, rng.bytes(6 * 1024 * 1024)], [101n, rng.bytes(4000)], [102n, rng.bytes(4000)]]);
      await appendAll(h.backend, oracle);
      await h.backend.close();
      const place = await h.damage!(101n);
      const b = await reopen();
      await assert.rejects(b.records.get(101n), (e) => isNeurStoreError(e, 'CORRUPTION') && e.message.includes(place));
      assert.ok((await b.records.damaged()).length >= 1, 'the damage found is listed');
      oracle.delete(101n);
      await readBack([b], oracle);
    });
  });

  test(`${name} records: concurrent writes appending overlapping keys store each once, byte-exact`, async (t) => {
    await withStore(t, async ({ backend: b }, reopen) => {
      const rng = new SeededRandom(16);
      const oracle = new Map<bigint, Uint8Array>();
      for (let i = 0; i < 24; i++) oracle.set(rng.u64(), rng.bytes(1 + rng.int(200_000)));
      const keys = [...oracle.keys()];
      const other = await reopen(); // another backend: another process's connections
      // Four writes, each appending every key in its own order, several appends of a write in flight at once.
      const writes = [b, other, b, other].map((store, w) => store.write(async (tx) => {
        const order = [...keys];
        const shuffle = new SeededRandom(100 + w);
        for (let i = order.length - 1; i > 0; i--) {
          const j = shuffle.int(i + 1);
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
        return Promise.all(order.map((k) => tx.records.append(k, oracle.get(k)!)));
      }));
      const results = await Promise.all(writes);
      assert.equal(results.flat().filter((x) => x).length, keys.length, 'each key inserted by exactly one append');
      assert.equal((await b.records.stats()).records, keys.length);
      await readBack([b, other], oracle);
    });
  });
}
