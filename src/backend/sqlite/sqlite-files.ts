/**
 * The files of a store directory beside the engine's: the marker that says a directory is a store, the catalog,
 * and the reserve file that lets `rm` and `gc` run on a full disk.
 */
import { NeurStoreError, notFound } from '../../errors.js';
import { joinPath, writeFileAtomic, type Env } from '../../env/env.js';
import { SqliteCatalog } from './sqlite-catalog.js';

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
 * The catalog at `path`. A writable open that fails for lack of space falls back to reading (`diskFull`), so
 * that reads work and `rm`/`gc` can free space with the reserve file (see `SqliteBackend.write`).
 */
export function openCatalog(path: string, readOnly: boolean, busyTimeoutMs?: number): { catalog: SqliteCatalog; diskFull: boolean } {
  try {
    return { catalog: new SqliteCatalog(path, { readOnly, busyTimeoutMs }), diskFull: false };
  } catch (e) {
    if (readOnly || !(e instanceof NeurStoreError) || e.code !== 'IO_ERROR') throw e;
    return { catalog: new SqliteCatalog(path, { readOnly: true, busyTimeoutMs }), diskFull: true };
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

/** Makes `dir` a store (marker and reserve) unless it is one; NOT_FOUND when it is none and `create` is not set. */
export async function ensureStoreDir(env: Env, dir: string, create: boolean): Promise<void> {
  const marker = joinPath(dir, STORE_MARKER_FILE);
  if (await env.exists(marker)) return;
  if (!create) throw notFound(`no NeurStore at ${dir}: create one with \`neurstore init ${dir}\``);
  await env.mkdir(dir);
  await writeFileAtomic(env, marker, Buffer.from(STORE_MARKER));
  await ensureReserve(env, dir);
}

/** Sum of the sizes of the plain files directly in `dir`, catalog and reserve files excepted. */
export async function plainFilesBytes(env: Env, dir: string): Promise<number> {
  let n = 0;
  for (const name of await env.list(dir).catch(() => [] as string[])) {
    const p = joinPath(dir, name);
    if (name.startsWith(CATALOG_FILE) || name === RESERVE_FILE || (await env.isDirectory(p))) continue;
    n += await env.fileSize(p).catch((e: unknown) => (e instanceof NeurStoreError && e.code === 'NOT_FOUND' ? 0 : Promise.reject(e)));
  }
  return n;
}
