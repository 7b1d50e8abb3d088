/**
 * Opens the backend a location names: a `postgres://` or `postgresql://` URL is PostgreSQL (loaded only when
 * used, so `pg` is never imported for a directory), anything else a store directory (the embedded backend).
 */
import type { Backend } from './backend.js';
import { SqliteBackend, type ManifestRepair, type SqliteBackendOptions } from './sqlite/sqlite-backend.js';

export type BackendOptions = SqliteBackendOptions;

const POSTGRES_MODULE = './postgres/postgres-backend.js';

/** What open-backend needs of backend/postgres/postgres-backend.ts. */
interface PostgresModule {
  PostgresBackend: { open(url: string, options: { create?: boolean; readOnly?: boolean }): Promise<Backend> };
}

export function isDatabaseUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

export async function openBackend(location: string, options: BackendOptions = {}): Promise<Backend> {
  if (isDatabaseUrl(location)) {
    // A computed specifier: the PostgreSQL backend (and `pg`) load only here, and this file builds without it.
    const { PostgresBackend } = (await import(POSTGRES_MODULE)) as PostgresModule;
    return PostgresBackend.open(location, { create: options.create, readOnly: options.readOnly });
  }
  return SqliteBackend.open(location, options);
}

/**
 * The backend's own repair before a store is opened: for a directory, the manifest rebuilt from the segments
 * when it is lost or damaged; a database has nothing of the kind (its pages are rows), so nothing is done.
 */
export async function repairBackend(location: string, options: BackendOptions = {}): Promise<ManifestRepair> {
  if (isDatabaseUrl(location)) return { reason: null, records: 0, savedAs: null, segments: 0 };
  return SqliteBackend.repair(location, options);
}
