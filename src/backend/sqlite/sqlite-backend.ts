/**
 * The embedded backend: a store directory holding segment files (the engine, engine/) and a SQLite catalog.
 * It owns what is directory-specific: the marker file that makes a directory a store, the reserve file and the
 * full-disk mode (reads work; the first write gives up the reserve so `rm` and `gc` can free space; appends and
 * new models are refused until a gc has put the reserve back), and the manifest rebuild of `repair`.
 *
 * Writes (the protocol in backend.ts): SQLite's `BEGIN IMMEDIATE` is the writer lock (always exclusive here,
 * across processes; writers of this process queue); the engine batch is opened inside it, `fn` runs, then the
 * engine commits (records durable) and only then the catalog commits. On a throw or `rollback` the engine batch
 * is aborted and the catalog rolled back.
 */
import { resolve } from 'node:path';
import { cancelled, conflict } from '../../errors.js';
import { joinPath, type Env } from '../../env/env.js';
import { NodeEnv } from '../../env/node-env.js';
import { TensorEngine, type EngineOptions } from '../../engine/tensor-engine.js';
import { rebuildManifestIfNeeded } from '../../engine/engine-repair.js';
import { SEGMENTS_DIR } from '../../engine/segment-files.js';
import type { Backend, BackendStats, BackendTx, WriteOptions } from '../backend.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { sqliteError } from './sqlite-open.js';
import { CATALOG_FILE, RESERVE_FILE, STORE_MARKER_FILE, ensureReserve, ensureStoreDir, openCatalog, plainFilesBytes } from './sqlite-files.js';
import { SqliteRecordWriter, SqliteRecords, fullDiskError } from './sqlite-records.js';

export interface SqliteBackendOptions {
  env?: Env;
  /** Create the store if the directory holds none (default false: NOT_FOUND). */
  create?: boolean;
  /** Open for reading only: works on a full disk and on read-only media; writes fail with CONFLICT. */
  readOnly?: boolean;
  engine?: EngineOptions;
  /** How long a writer waits for another process's write (default 60 s), then CONFLICT. */
  busyTimeoutMs?: number;
  /** The catalog file (default DIR/catalog.sqlite): tests keep it on a real disk beside an in-memory env. */
  catalogPath?: string;
}

/** What `SqliteBackend.repair` did to the manifest (see engine/engine-repair.ts). */
export interface ManifestRepair {
  /** Why it was rebuilt ('missing', 'damaged: ...'), or null when it was intact. */
  readonly reason: string | null;
  readonly records: number;
  readonly savedAs: string | null;
  readonly segments: number;
}

/**
 * This process's writers, queued per catalog file, across every backend open on it: SQLite serializes
 * processes, but its busy wait would block this thread while another backend of it holds the lock.
 */
const writeQueues = new Map<string, Promise<unknown>>();

export class SqliteBackend implements Backend {
  readonly kind = 'sqlite';
  readonly records: SqliteRecords;

  private constructor(
    readonly location: string,
    readonly readOnly: boolean,
    private readonly env: Env,
    private readonly engine: TensorEngine,
    private sqlite: SqliteCatalog,
    /** Opened on a full disk: the catalog is read-only until a write gives up the reserve file. */
    private diskFull: boolean,
    /** Puts stay refused from a full-disk open until a gc has put the reserve back. */
    private refuseAppends: boolean,
    private readonly options: SqliteBackendOptions,
  ) {
    this.records = new SqliteRecords(engine);
  }

  get catalog(): SqliteCatalog {
    return this.sqlite;
  }

  /** Opens the store in `dir` (creating it with `create`). NOT_FOUND when there is none. */
  static async open(dir: string, options: SqliteBackendOptions = {}): Promise<SqliteBackend> {
    const env = options.env ?? new NodeEnv();
    const readOnly = Boolean(options.readOnly);
    await ensureStoreDir(env, dir, Boolean(options.create) && !readOnly);
    const engine = await TensorEngine.open(env, dir, { ...options.engine, readOnly });
    try {
      const { catalog, diskFull } = openCatalog(SqliteBackend.catalogPath(dir, options), readOnly, options.busyTimeoutMs);
      return new SqliteBackend(dir, readOnly, env, engine, catalog, diskFull, diskFull, options);
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Rebuilds a missing or damaged manifest of the store in `dir` from its segment files (nothing is deleted),
   * holding the writer lock. The store is opened afterwards as usual.
   */
  static async repair(dir: string, options: Omit<SqliteBackendOptions, 'create' | 'readOnly'> = {}): Promise<ManifestRepair> {
    const env = options.env ?? new NodeEnv();
    await ensureStoreDir(env, dir, false);
    const catalog = new SqliteCatalog(SqliteBackend.catalogPath(dir, options), { busyTimeoutMs: options.busyTimeoutMs });
    try {
      catalog.begin();
      try {
        const r = await rebuildManifestIfNeeded(env, dir);
        catalog.commit();
        return { reason: r.reason, records: r.records, savedAs: r.savedAs, segments: r.manifest.segments.length };
      } finally {
        catalog.rollback();
      }
    } finally {
      await catalog.close();
    }
  }

  private static catalogPath(dir: string, options: SqliteBackendOptions): string {
    return options.catalogPath ?? joinPath(dir, CATALOG_FILE);
  }

  write<T>(fn: (tx: BackendTx) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    const path = resolve(this.sqlite.path);
    const run = (writeQueues.get(path) ?? Promise.resolve()).then(() => this.runWrite(fn, options));
    const settled = run.catch(() => undefined);
    writeQueues.set(path, settled);
    void settled.then(() => {
      if (writeQueues.get(path) === settled) writeQueues.delete(path);
    });
    return run;
  }

  private async runWrite<T>(fn: (tx: BackendTx) => Promise<T>, options: WriteOptions): Promise<T> {
    if (this.readOnly) throw conflict('the store is open read-only');
    if (options.signal?.aborted) throw cancelled('the write was cancelled before it began; nothing was written');
    if (this.diskFull) await this.useReserve();
    const catalog = this.sqlite;
    catalog.begin();
    try {
      await this.engine.beginWrite();
      const records = new SqliteRecordWriter(this.engine, this.refuseAppends ? this.location : null);
      let result: T;
      try {
        const tx = catalog.tx();
        // From a full-disk open, only writes that free space: no model is added (even one of stored records).
        const insertModel = this.refuseAppends ? () => Promise.reject(fullDiskError(this.location)) : tx.insertModel;
        result = await fn({ catalog: { ...tx, insertModel }, records });
        if (options.rollback) await this.engine.abort();
        else if (records.changed) await this.engine.commit(); // records durable before the catalog names them
        else this.engine.release();
      } catch (e) {
        await this.engine.abort();
        throw e;
      }
      if (options.rollback) catalog.rollback();
      else catalog.commit();
      if (options.exclusive && records.changed) await this.afterReclaim();
      return result;
    } catch (e) {
      catalog.rollback();
      throw sqliteError(catalog.path, 'write to', e);
    }
  }

  /** On a full disk, gives up the reserve file so the catalog can take the write that frees space. */
  private async useReserve(): Promise<void> {
    await this.env.remove(joinPath(this.location, RESERVE_FILE));
    const writable = new SqliteCatalog(this.sqlite.path, { busyTimeoutMs: this.options.busyTimeoutMs });
    await this.sqlite.close();
    this.sqlite = writable;
    this.diskFull = false;
  }

  /** After a gc: the reserve file back (best effort); puts are allowed again once it is. */
  private async afterReclaim(): Promise<void> {
    await ensureReserve(this.env, this.location);
    if (await this.env.exists(joinPath(this.location, RESERVE_FILE))) this.refuseAppends = false;
  }

  async stats(): Promise<BackendStats> {
    await this.engine.refresh();
    // Records: the segment files as they are on disk (an uncommitted tail included); the catalog: SQLite's
    // files and the directory's small ones (marker, manifest).
    const recordBytes = await plainFilesBytes(this.env, joinPath(this.location, SEGMENTS_DIR));
    const catalogBytes = (await this.sqlite.diskBytes()) + (await plainFilesBytes(this.env, this.location));
    return { kind: this.kind, location: this.location, records: this.engine.recordCount, recordBytes, catalogBytes };
  }

  async close(): Promise<void> {
    await this.engine.close();
    await this.sqlite.close();
  }
}

export { STORE_MARKER_FILE, RESERVE_FILE, CATALOG_FILE };
