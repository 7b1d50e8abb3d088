/** The shared conformance suites (../*.case.ts) on the PostgreSQL backend: one server, a fresh database per case. */
import { existsSync } from 'node:fs';
import { runRecordStoreCases } from '../record-store.case.js';
import { pgFixture } from './testing/pg-fixture.js';

const pg = await pgFixture('postgres-backend.test.ts');
if (pg) {
  runRecordStoreCases('postgres', pg.factory);
  // The suites written beside the SQLite backend, run here as they land.
  for (const [file, fn] of [['backend', 'runBackendCases'], ['catalog', 'runCatalogCases'], ['store', 'runStoreCases']] as const) {
    if (!existsSync(new URL(`../${file}.case.ts`, import.meta.url))) continue;
    const suite = (await import(`../${file}.case.js`)) as Record<string, (name: string, f: unknown) => void>;
    suite[fn]?.('postgres', pg.factory);
  }
}
