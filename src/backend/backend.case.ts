/**
 * Conformance suite of the write protocol (backend.ts), shared by every backend (as Hono shares its routers'
 * *.case.ts files). A backend's test file runs it in a few lines:
 *
 *   import { runBackendCases } from '../backend.case.js';
 *   runBackendCases('sqlite', async (t) => { ... return { backend, reopen, cleanup }; });
 *
 * The factory gives a fresh, empty, writable store: `backend` open on it, `reopen()` opening another backend on
 * the same store (the suite closes every backend it gets, `backend` included), `cleanup()` dropping the store
 * (called last). The same factory runs catalog.case.ts and store.case.ts.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from './backend.js';
import { SeededRandom } from '../env/seeded-random.js';

export interface BackendHarness {
  readonly backend: Backend;
  reopen(): Promise<Backend>;
  cleanup(): Promise<void>;
}

export type BackendFactory = (t: TestContext) => Promise<BackendHarness>;

/** Runs `body` on a fresh store (and its harness); closes `backend` and what `reopen` opened, then cleans up. */
export async function withBackend<H extends BackendHarness>(
  t: TestContext, factory: (t: TestContext) => Promise<H>, body: (b: Backend, reopen: () => Promise<Backend>, h: H) => Promise<void>,
): Promise<void> {
  const h = await factory(t);
  const opened: Backend[] = [h.backend];
  try {
    await body(h.backend, async () => {
      const b = await h.reopen();
      opened.push(b);
      return b;
    }, h);
  } finally {
    for (const b of opened) await b.close().catch(() => undefined);
    await h.cleanup();
  }
}

/** A record of `n` seeded bytes. */
const payload = (rng: SeededRandom, n: number): Uint8Array => rng.bytes(n);

const sameBytes = (a: Uint8Array, b: Uint8Array, what: string): void => assert.ok(Buffer.from(a).equals(Buffer.from(b)), what);

async function appendAll(b: Backend, records: Map<bigint, Uint8Array>): Promise<void> {
  await b.write(async (tx) => {
    for (const [k, v] of records) assert.equal(await tx.records.append(k, v), true, `append ${k}`);
  });
}

export function runBackendCases(name: string, factory: BackendFactory): void {
  test(`${name} backend: appended records read back exact, whole, by prefix and after reopening`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      const rng = new SeededRandom(1);
      const oracle = new Map<bigint, Uint8Array>();
      for (let i = 0; i < 20; i++) oracle.set(rng.u64(), payload(rng, 1 + rng.int(5000)));
      await appendAll(b, oracle);
      // Parts are concatenated.
      const parts = [payload(rng, 10), payload(rng, 0), payload(rng, 33)];
      await b.write(async (tx) => assert.equal(await tx.records.append(7n, parts), true));
      oracle.set(7n, Buffer.concat(parts));
      const again = await reopen();
      for (const store of [b, again]) {
        for (const [k, v] of oracle) {
          assert.equal(await store.records.has(k), true);
          sameBytes(await store.records.get(k), v, `record ${k}`);
          sameBytes(await store.records.readPrefix(k, 5), v.subarray(0, 5), `prefix of ${k}`);
        }
        assert.equal(await store.records.has(8n), false);
        await assert.rejects(store.records.get(8n), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
        assert.equal((await store.records.stats()).records, oracle.size);
        assert.deepEqual(await store.records.damaged(), []);
      }
    });
  });

  test(`${name} backend: a write that throws keeps nothing in the catalog and rethrows the error unchanged`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      const err = new Error('boom');
      await assert.rejects(b.write(async (tx) => {
        await tx.records.append(1n, new Uint8Array([1, 2, 3]));
        await tx.catalog.insertModel(MODEL, []);
        assert.equal(await tx.records.append(1n, new Uint8Array([9])), false, 'the write sees its own record');
        throw err;
      }), (e) => e === err);
      for (const store of [b, await reopen()]) assert.equal(await store.catalog.getModel(MODEL.name), undefined);
      // Its record is dropped or left unnamed (protocol point 3): a reclaim keeping nothing leaves none.
      await b.write((tx) => tx.records.reclaim(() => false), { exclusive: true });
      assert.equal(await b.records.has(1n), false);
      assert.equal((await b.records.stats()).records, 0);
    });
  });

  test(`${name} backend: a write with rollback returns its result and keeps nothing`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      const r = await b.write(async (tx) => {
        await tx.records.append(2n, new Uint8Array([4, 5]));
        await tx.catalog.insertModel(MODEL, []);
        return 'dry';
      }, { rollback: true });
      assert.equal(r, 'dry');
      for (const store of [b, await reopen()]) {
        assert.equal(await store.records.has(2n), false);
        assert.equal(await store.catalog.getModel(MODEL.name), undefined);
      }
    });
  });

  test(`${name} backend: appending an existing key returns false and writes nothing`, async (t) => {
    await withBackend(t, factory, async (b) => {
      const first = new Uint8Array([1, 1, 1]);
      await appendAll(b, new Map([[5n, first]]));
      await b.write(async (tx) => assert.equal(await tx.records.append(5n, new Uint8Array([2, 2])), false));
      sameBytes(await b.records.get(5n), first, 'the first record stays');
      assert.equal((await b.records.stats()).records, 1);
    });
  });

  test(`${name} backend: reclaim keeps every live record and drops the rest`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      const rng = new SeededRandom(2);
      const oracle = new Map<bigint, Uint8Array>();
      for (let i = 0; i < 60; i++) oracle.set(BigInt(i + 1) * 1_000_003n, payload(rng, 100 + rng.int(3000)));
      await appendAll(b, oracle);
      const live = new Set([...oracle.keys()].filter(() => rng.int(3) === 0));
      const r = await b.write((tx) => tx.records.reclaim((k) => live.has(k)), { exclusive: true });
      assert.equal(r.recordsDropped, oracle.size - live.size);
      for (const store of [b, await reopen()]) {
        for (const [k, v] of oracle) {
          assert.equal(await store.records.has(k), live.has(k), `record ${k} ${live.has(k) ? 'kept' : 'dropped'}`);
          if (live.has(k)) sameBytes(await store.records.get(k), v, `live record ${k}`);
        }
        assert.equal((await store.records.stats()).records, live.size);
      }
    });
  });

  test(`${name} backend: two writes started together in one process both land`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      const write = (key: bigint, model: string) => b.write(async (tx) => {
        await tx.records.append(key, new Uint8Array([Number(key)]));
        await tx.catalog.insertModel({ ...MODEL, name: model, architectureKey: key }, []);
      });
      await Promise.all([write(11n, 'x'), write(12n, 'y')]);
      for (const store of [b, await reopen()]) {
        assert.deepEqual((await store.catalog.listModels()).map((m) => m.name), ['x', 'y']);
        sameBytes(await store.records.get(11n), new Uint8Array([11]), 'record 11');
        sameBytes(await store.records.get(12n), new Uint8Array([12]), 'record 12');
      }
    });
  });

  test(`${name} backend: a reopened backend sees committed state, and another's later commits after refresh`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      await appendAll(b, new Map([[21n, new Uint8Array([1])]]));
      const other = await reopen();
      assert.equal(await other.records.has(21n), true);
      await appendAll(b, new Map([[22n, new Uint8Array([2])]]));
      await other.records.refresh();
      sameBytes(await other.records.get(22n), new Uint8Array([2]), 'record 22');
      const st = await other.stats();
      assert.equal(st.records, 2);
      assert.equal(st.kind, b.kind);
    });
  });
}

const MODEL = {
  name: 'm', format: 'safetensors', createdMs: 1, bytesIn: 10, files: ['m.safetensors'], architectureKey: 3n, mode: 'lossless' as const,
  tolerance: 0, tensorCount: 0, storedBytes: 0, metadata: {}, tags: {},
};
