/**
 * Conformance suite of `Catalog` (catalog/catalog.ts) through `Backend.write`, shared by every backend. Run it
 * with the factory of backend.case.ts (`(t) => Promise<{ backend, reopen(), cleanup() }>`, a fresh empty
 * writable store each time):
 *
 *   import { runCatalogCases } from '../catalog.case.js';
 *   runCatalogCases('sqlite', factory);
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CodecName, ModelRow, StoredAs, TensorRow } from '../catalog/catalog.js';
import type { Backend } from './backend.js';
import { withBackend, type BackendFactory } from './backend.case.js';

const model = (name: string, architectureKey = 7n): ModelRow => ({
  name, format: 'safetensors', createdMs: 1, bytesIn: 100, files: [`${name}.safetensors`], architectureKey, mode: 'lossless',
  tolerance: 0, tensorCount: 2, storedBytes: 50, metadata: { k: 'v' }, tags: { team: 'x' },
});

interface TensorSpec {
  key: bigint;
  shape?: number[];
  dtype?: string;
  codec?: CodecName;
  storedAs?: StoredAs;
  baseKey?: bigint;
  depth?: number;
  name?: string;
}

const tensorRows = (specs: TensorSpec[]): TensorRow[] => specs.map((s, i) => ({
  index: i, name: s.name ?? `t${i}`, dtype: s.dtype ?? 'F32', shape: s.shape ?? [4], byteLength: 16, recordKey: s.key,
  storedAs: s.storedAs ?? 'lossless', codec: s.codec ?? 'lossless', ...(s.baseKey === undefined ? {} : { baseKey: s.baseKey }),
  depth: s.depth ?? 0, storedBytes: 10, bits: 5, maxError: 0,
}));

const pair = (key: bigint): TensorRow[] => tensorRows([{ key }, { key: key + 1n }]);

async function insert(b: Backend, m: ModelRow, rows: TensorRow[]): Promise<void> {
  await b.write(async (tx) => tx.catalog.insertModel({ ...m, tensorCount: rows.length }, rows));
}

export function runCatalogCases(name: string, factory: BackendFactory): void {
  test(`${name} catalog: models and their tensors read back as inserted, listed by name, deleted`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      await insert(b, model('b'), pair(200n));
      await insert(b, model('a'), pair(100n));
      for (const c of [b.catalog, (await reopen()).catalog]) {
        assert.deepEqual(await c.getModel('a'), model('a'));
        assert.deepEqual(await c.tensors('a'), pair(100n));
        assert.deepEqual(await c.tensors('b'), pair(200n));
        assert.deepEqual(await c.tensors('none'), []);
        assert.equal(await c.getModel('none'), undefined);
        assert.deepEqual((await c.listModels()).map((m) => m.name), ['a', 'b']);
        assert.deepEqual(await c.modelNames(), ['a', 'b']);
        assert.deepEqual(await c.check(), []);
      }
      await b.write(async (tx) => {
        assert.equal(await tx.catalog.modelExists('a'), true);
        assert.equal(await tx.catalog.deleteModel('a'), true);
        assert.equal(await tx.catalog.deleteModel('a'), false);
        assert.equal(await tx.catalog.modelExists('a'), false);
      });
      assert.deepEqual(await b.catalog.modelNames(), ['b']);
      assert.deepEqual(await b.catalog.tensors('a'), []);
    });
  });

  test(`${name} catalog: a write that throws leaves the catalog as it was`, async (t) => {
    await withBackend(t, factory, async (b) => {
      await insert(b, model('keep'), pair(10n));
      const err = new Error('stop');
      await assert.rejects(b.write(async (tx) => {
        await tx.catalog.insertModel(model('gone'), pair(20n));
        await tx.catalog.deleteModel('keep');
        throw err;
      }), (e) => e === err);
      assert.deepEqual(await b.catalog.modelNames(), ['keep']);
      assert.deepEqual(await b.catalog.tensors('keep'), pair(10n));
      assert.deepEqual(await b.catalog.liveRecordKeys(), new Set([7n, 10n, 11n]));
    });
  });

  test(`${name} catalog: liveRecordKeys names tensors, their bases and architectures; totals count them`, async (t) => {
    await withBackend(t, factory, async (b) => {
      await insert(b, model('a', 1n), tensorRows([{ key: 10n }, { key: 11n, baseKey: 10n, depth: 1, codec: 'group-delta', storedAs: 'delta' }]));
      await insert(b, model('b', 2n), tensorRows([{ key: 10n, storedAs: 'duplicate' }, { key: 12n, baseKey: 99n, codec: 'paper-delta', storedAs: 'paper-base' }]));
      assert.deepEqual(await b.catalog.liveRecordKeys(), new Set([1n, 2n, 10n, 11n, 12n, 99n]));
      assert.deepEqual(await b.catalog.totals(), { models: 2, tensors: 4, bytesIn: 200, distinctTensorRecords: 3 });
      assert.deepEqual(await b.catalog.tensorOfRecord(11n), { model: 'a', tensor: 't1' });
      assert.deepEqual(await b.catalog.tensorOfRecord(99n), { model: 'b', tensor: 't1' });
      assert.equal(await b.catalog.tensorOfRecord(5n), undefined);
      assert.deepEqual(await b.catalog.paperBasesOfShape([4]), [99n]);
      assert.deepEqual(await b.catalog.paperBasesOfShape([5]), []);
      await b.write((tx) => tx.catalog.deleteModel('a'));
      assert.deepEqual(await b.catalog.liveRecordKeys(), new Set([2n, 10n, 12n, 99n]));
      assert.deepEqual(await b.catalog.totals(), { models: 1, tensors: 2, bytesIn: 100, distinctTensorRecords: 2 });
    });
  });

  test(`${name} catalog: baseCandidates filters by shape, depth, dtype, codec and name, latest first`, async (t) => {
    await withBackend(t, factory, async (b) => {
      await insert(b, model('a'), tensorRows([
        { key: 1n, shape: [8, 8] }, { key: 2n, shape: [8, 8], name: 'w' }, { key: 3n, shape: [8, 4] },
        { key: 4n, shape: [8, 8], dtype: 'I32' }, { key: 5n, shape: [8, 8], codec: 'paper-delta' },
      ]));
      await insert(b, model('b'), tensorRows([
        { key: 6n, shape: [8, 8], depth: 2, codec: 'group-delta', baseKey: 1n }, { key: 7n, shape: [8, 8], codec: 'raw', name: 'w' },
        { key: 1n, shape: [8, 8], storedAs: 'duplicate' },
      ]));
      const keys = async (...a: Parameters<Backend['catalog']['baseCandidates']>) => (await b.catalog.baseCandidates(...a)).map((c) => c.key);
      assert.deepEqual(await keys([8, 8], 3, 10), [1n, 7n, 6n, 2n]);
      assert.deepEqual(await keys([8, 8], 2, 10), [1n, 7n, 2n]);
      assert.deepEqual(await keys([8, 8], 3, 2), [1n, 7n]);
      assert.deepEqual(await keys([8, 4], 3, 10), [3n]);
      assert.deepEqual(await keys([8, 8], 3, 10, ['I32']), [4n]);
      assert.deepEqual(await keys([8, 8], 3, 10, undefined, ['raw']), [7n]);
      assert.deepEqual(await keys([8, 8], 3, 10, undefined, undefined, 'w'), [7n, 2n]);
      assert.deepEqual(await keys([8, 8], 3, 10, [], undefined), []);
      assert.deepEqual(await b.catalog.baseCandidates([8, 8], 3, 1, undefined, ['group-delta']), [{ key: 6n, dtype: 'F32', depth: 2 }]);
    });
  });

  test(`${name} catalog: repointRecord moves tensors and bases to the fresh record and keeps rows intact`, async (t) => {
    await withBackend(t, factory, async (b, reopen) => {
      await insert(b, model('a'), pair(100n));
      await insert(b, model('b'), tensorRows([{ key: 300n, baseKey: 101n, depth: 1, codec: 'group-delta', storedAs: 'delta' }]));
      await b.write(async (tx) => assert.equal(await tx.catalog.repointRecord(101n, 555n), 1));
      for (const c of [b.catalog, (await reopen()).catalog]) {
        assert.deepEqual((await c.tensors('a')).map((r) => r.recordKey), [100n, 555n]);
        assert.deepEqual((await c.tensors('b')).map((r) => r.baseKey), [555n]);
        assert.deepEqual(await c.check(), []);
        const live = await c.liveRecordKeys();
        assert.ok(live.has(555n) && !live.has(101n));
      }
    });
  });
}
