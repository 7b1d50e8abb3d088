/** The shared conformance suites (../*.case.ts) on the embedded backend: a fresh store directory each time. */
import { join } from 'node:path';
import { tempDir } from '../../store/testing/temp-dir.js';
import { runBackendCases, type BackendFactory } from '../backend.case.js';
import { runCatalogCases } from '../catalog.case.js';
import { runRecordStoreCases } from '../record-store.case.js';
import { runStoreCases } from '../store.case.js';
import { SqliteBackend } from './sqlite-backend.js';

const factory: BackendFactory = async () => {
  const dir = join(tempDir(), 'store');
  return { backend: await SqliteBackend.open(dir, { create: true }), reopen: () => SqliteBackend.open(dir), cleanup: async () => undefined };
};

runBackendCases('sqlite', factory);
runCatalogCases('sqlite', factory);
runRecordStoreCases('sqlite', factory);
runStoreCases('sqlite', factory);
