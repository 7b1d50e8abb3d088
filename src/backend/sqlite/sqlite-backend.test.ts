/** The shared conformance suites (../*.case.ts) on the embedded backend: a fresh store directory each time. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeEnv } from '../../env/node-env.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../../engine/record-format.js';
import { scanSegment } from '../../engine/segment-scanner.js';
import { SEGMENTS_DIR } from '../../engine/segment-files.js';
import { tempDir } from '../../store/testing/temp-dir.js';
import { runBackendCases } from '../backend.case.js';
import { runCatalogCases } from '../catalog.case.js';
import { runRecordStoreCases, type RecordStoreHarness } from '../record-store.case.js';
import { runStoreCases } from '../store.case.js';
import { SqliteBackend } from './sqlite-backend.js';

const factory = async (): Promise<RecordStoreHarness> => {
  const dir = join(tempDir(), 'store');
  return {
    backend: await SqliteBackend.open(dir, { create: true }),
    reopen: () => SqliteBackend.open(dir),
    cleanup: async () => undefined,
    damage: (key) => damageRecord(join(dir, SEGMENTS_DIR), key),
  };
};

/** Flips a byte in the middle of record `key`'s payload in its segment file; returns that file. */
async function damageRecord(segments: string, key: bigint): Promise<string> {
  for (const name of readdirSync(segments)) {
    const path = join(segments, name);
    const file = await new NodeEnv().openRead(path);
    let at = -1;
    try {
      await scanSegment(file, SEGMENT_HEADER_BYTES, await file.size(), (r) => {
        if (r.key === key) at = r.offset + RECORD_HEADER_BYTES + Math.floor(r.length / 2);
      });
    } finally {
      await file.close();
    }
    if (at < 0) continue;
    const bytes = readFileSync(path);
    bytes[at]! ^= 1;
    writeFileSync(path, bytes);
    return path;
  }
  throw new Error(`no record ${key.toString(16)} to damage`);
}

runBackendCases('sqlite', factory);
runCatalogCases('sqlite', factory);
runRecordStoreCases('sqlite', factory);
runStoreCases('sqlite', factory);
