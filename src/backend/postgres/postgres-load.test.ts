/**
 * Load: four processes, each a seeded mix of puts (of shared content), gets, removals and gc against one
 * PostgreSQL store at once, for a bounded number of operations; then every surviving model reads back
 * byte-exact, the catalog checks clean, and a final gc leaves exactly the records the models name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PostgresBackend } from './postgres-backend.js';
import { pgFixture } from './testing/pg-fixture.js';
import { content } from './testing/load-child.js';

const pg = await pgFixture('postgres-load.test.ts');
const PROCESSES = 4;
const OPS = 25;

if (pg) {
  test(`postgres load: ${PROCESSES} processes x ${OPS} mixed put/get/rm/gc, then every surviving model reads back byte-exact`, async () => {
    const url = await pg.freshUrl();
    await (await PostgresBackend.open(url, { create: true })).close();
    const child = fileURLToPath(new URL('./testing/load-child.ts', import.meta.url));
    const codes = await Promise.all(Array.from({ length: PROCESSES }, (_, id) => new Promise<number | null>((resolve) => {
      spawn(process.execPath, ['--import', 'tsx', child, url, String(id + 1), String(OPS)], { stdio: ['ignore', 'inherit', 'inherit'] })
        .once('exit', resolve);
    })));
    assert.deepEqual(codes, codes.map(() => 0), 'every load process finished cleanly');
    const b = await PostgresBackend.open(url);
    try {
      const models = await b.catalog.listModels();
      assert.ok(models.length > 0);
      const named = new Set<bigint>();
      for (const m of models) {
        for (const t of await b.catalog.tensors(m.name)) {
          named.add(t.recordKey);
          assert.ok(Buffer.from(await b.records.get(t.recordKey)).equals(Buffer.from(content(t.recordKey))), `${m.name} ${t.name}`);
        }
      }
      assert.deepEqual(await b.catalog.check(), []);
      await b.write(async (tx) => {
        const live = await b.catalog.liveRecordKeys();
        return tx.records.reclaim((k) => live.has(k));
      }, { exclusive: true });
      assert.equal((await b.records.stats()).records, named.size);
    } finally {
      await b.close();
    }
  });
}
