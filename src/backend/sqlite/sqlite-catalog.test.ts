/**
 * The SQLite catalog's own guarantees (the ones every catalog keeps are in ../catalog.case.ts): a version-1
 * catalog (no row checksums) is read as it is by a read-only open and migrated by a writable one (checksums
 * filled in, then checked); rows that fail their checksum are CORRUPTION naming the model; a read-only catalog
 * refuses to begin a write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { isNeurStoreError } from '../../errors.js';
import type { ModelRow, TensorRow } from '../../catalog/catalog.js';
import { tempDir } from '../../store/testing/temp-dir.js';
import { SqliteCatalog } from './sqlite-catalog.js';

const model = (name: string): ModelRow => ({
  name, format: 'safetensors', createdMs: 1, bytesIn: 100, files: [`${name}.safetensors`], architectureKey: 7n, mode: 'lossless',
  tolerance: 0, tensorCount: 2, storedBytes: 50, metadata: {}, tags: { team: 'x' },
});
const tensors = (key: bigint): TensorRow[] => [0, 1].map((i) => ({
  index: i, name: `t${i}`, dtype: 'F32', shape: [4], byteLength: 16, recordKey: key + BigInt(i), storedAs: 'lossless', codec: 'lossless',
  depth: 0, storedBytes: 10, bits: 5, maxError: 0,
}));

async function filled(path: string): Promise<void> {
  const c = new SqliteCatalog(path);
  c.begin();
  await c.tx().insertModel(model('a'), tensors(100n));
  await c.tx().insertModel(model('b'), tensors(200n));
  c.commit();
  await c.close();
}

test('a version-1 catalog opens read-only unchecked and is migrated to checksummed rows by a writable open', async () => {
  const path = join(tempDir(), 'c.sqlite');
  await filled(path);
  const db = new Database(path);
  db.exec("ALTER TABLE models DROP COLUMN row_crc; ALTER TABLE models DROP COLUMN tensors_crc; UPDATE meta SET value = '1' WHERE key = 'schema_version'");
  db.close();
  const ro = new SqliteCatalog(path, { readOnly: true });
  assert.deepEqual((await ro.listModels()).map((m) => m.name), ['a', 'b']);
  assert.deepEqual(await ro.tensors('a'), tensors(100n));
  await ro.close();
  const rw = new SqliteCatalog(path);
  assert.deepEqual(await rw.getModel('b'), model('b'));
  assert.deepEqual(await rw.check(), []);
  await rw.close();
  const raw = new Database(path, { readonly: true });
  assert.equal((raw.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string }).value, '2');
  assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM models WHERE row_crc IS NULL OR tensors_crc IS NULL').get() as { n: number }).n, 0);
  raw.close();
  // Checked from now on: change a record key behind the catalog's back.
  const w = new Database(path);
  w.prepare("UPDATE tensors SET record_key = 999 WHERE name = 't1' AND model_id = (SELECT id FROM models WHERE name = 'a')").run();
  w.close();
  const after = new SqliteCatalog(path);
  await assert.rejects(after.tensors('a'), (e: Error) => isNeurStoreError(e, 'CORRUPTION') && /"a"/.test(e.message));
  await assert.rejects(after.liveRecordKeys(), (e) => isNeurStoreError(e, 'CORRUPTION'));
  assert.deepEqual((await after.check()).map((d) => d.model), ['a']);
  assert.deepEqual(await after.tensors('b'), tensors(200n));
  await after.close();
});

test('a read-only catalog refuses to begin a write (CONFLICT)', async () => {
  const path = join(tempDir(), 'c.sqlite');
  await filled(path);
  const ro = new SqliteCatalog(path, { readOnly: true });
  assert.throws(() => ro.begin(), (e) => isNeurStoreError(e, 'CONFLICT'));
  await ro.close();
});
