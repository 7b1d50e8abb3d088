/**
 * The PostgreSQL store's own guarantees beyond the shared suites: the schema is made once when several
 * processes open a new database at once, a newer schema is refused, and catalog rows changed behind the
 * store's back are CORRUPTION naming the model (row checksums), never wrong data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../../errors.js';
import type { ModelRow, TensorRow } from '../../catalog/catalog.js';
import { PostgresBackend } from './postgres-backend.js';
import { pgFixture } from './testing/pg-fixture.js';

const pg = await pgFixture('postgres-schema.test.ts');

const model = (name: string): ModelRow => ({
  name, format: 'safetensors', createdMs: 1, bytesIn: 100, files: [`${name}.safetensors`], architectureKey: 2n ** 64n - 7n, mode: 'default',
  tolerance: 0.001, tensorCount: 2, storedBytes: 50, metadata: { k: 'v' }, tags: { team: 'x' },
});
const tensors = (key: bigint): TensorRow[] => [0, 1].map((i) => ({
  index: i, name: `t${i}`, dtype: 'F32', shape: [4, 1], byteLength: 16, recordKey: key + BigInt(i), storedAs: 'delta', codec: 'group-delta',
  baseKey: 2n ** 63n + BigInt(i), depth: 1, storedBytes: 10, bits: 5.25, maxError: 0.000123,
}));

if (pg) {
  test('postgres schema: four opens of a new database at once make the schema once; a newer schema is refused', async () => {
    const url = await pg.freshUrl();
    const opened = await Promise.all([1, 2, 3, 4].map(() => PostgresBackend.open(url, { create: true })));
    for (const b of opened) await b.close();
    const meta = await pg.sql(url, 'SELECT key, value FROM neurstore.meta');
    assert.deepEqual(meta.rows, [{ key: 'schema_version', value: '1' }]);
    await pg.sql(url, "UPDATE neurstore.meta SET value = '99'");
    for (const readOnly of [false, true]) {
      await assert.rejects(PostgresBackend.open(url, { readOnly }), (e) => isNeurStoreError(e, 'NOT_SUPPORTED') && /version 99/.test(e.message));
    }
  });

  test('postgres catalog: rows changed behind the store are CORRUPTION naming the model; intact rows read exact', async () => {
    const url = await pg.freshUrl();
    const b = await PostgresBackend.open(url, { create: true });
    try {
      await b.write(async (tx) => {
        await tx.catalog.insertModel(model('a'), tensors(100n));
        await tx.catalog.insertModel(model('b'), tensors(2n ** 64n - 300n));
      });
      assert.deepEqual(await b.catalog.getModel('a'), model('a'));
      assert.deepEqual(await b.catalog.tensors('b'), tensors(2n ** 64n - 300n));
      assert.deepEqual(await b.catalog.check(), []);
      await pg.sql(url, "UPDATE neurstore.tensors SET record_key = 999 WHERE name = 't1' AND model_id = (SELECT id FROM neurstore.models WHERE name = 'a')");
      await assert.rejects(b.catalog.tensors('a'), (e) => isNeurStoreError(e, 'CORRUPTION') && /"a"/.test(e.message));
      await assert.rejects(b.catalog.liveRecordKeys(), (e) => isNeurStoreError(e, 'CORRUPTION'));
      assert.deepEqual((await b.catalog.check()).map((d) => d.model), ['a']);
      assert.deepEqual(await b.catalog.tensors('b'), tensors(2n ** 64n - 300n));
      // A renamed row: its old name is not "not found" but damage.
      await pg.sql(url, "UPDATE neurstore.models SET name = 'c' WHERE name = 'b'");
      await assert.rejects(b.catalog.getModel('b'), (e) => isNeurStoreError(e, 'CORRUPTION') && /"c"/.test(e.message));
    } finally {
      await b.close();
    }
  });
}
