/**
 * The files of a store directory beside the engine's: the marker that says a directory is a store, the catalog,
 * and the reserve file that lets `rm` and `gc` run on a full disk.
 */
import { NeurStoreError } from '../errors.js';
import { joinPath, writeFileAtomic, type Env } from '../env/env.js';
import type { Catalog } from '../catalog/catalog.js';
import { SqliteCatalog } from '../catalog/sqlite/sqlite-catalog.js';

export const STORE_MARKER_FILE = 'NEURSTORE';
export const STORE_MARKER = JSON.stringify({ format: 'neurstore', version: 1 }) + '\n';
export const CATALOG_FILE = 'catalog.sqlite';
/**
 * A ballast file (as CockroachDB keeps one): deleted when a writable open finds the disk full, so `rm` and `gc`
 * can still run and give space back; written again after a `gc`. Not data: left out of `bytesOnDisk`.
 */
export const RESERVE_FILE = 'RESERVE';
const RESERVE_BYTES = 1024 * 1024;

/**
 * The catalog in `dir`. A writable open that fails for lack of space falls back to reading (`diskFull`), so
 * that reads work and `rm`/`gc` can free space with the reserve file (see `useReserveIfFull`).
 */
export async function openCatalog(dir: string, readOnly: boolean): Promise<{ catalog: Catalog; diskFull: boolean }> {
  const path = joinPath(dir, CATALOG_FILE);
  try {
    return { catalog: new SqliteCatalog(path, { readOnly }), diskFull: false };
  } catch (e) {
    if (readOnly || !(e instanceof NeurStoreError) || e.code !== 'IO_ERROR') throw e;
    return { catalog: new SqliteCatalog(path, { readOnly: true }), diskFull: true };
  }
}

/** Writes the reserve file when it is missing; a disk too full for it is left alone (best effort). */
export async function ensureReserve(env: Env, dir: string): Promise<void> {
  const path = joinPath(dir, RESERVE_FILE);
  if (await env.exists(path)) return;
  try {
    await writeFileAtomic(env, path, new Uint8Array(RESERVE_BYTES));
  } catch {
    await env.remove(`${path}.tmp`).catch(() => undefined);
  }
}

