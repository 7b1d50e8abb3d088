/**
 * The embedded catalog: one SQLite database (better-sqlite3) in the store directory, in WAL mode so readers in
 * other processes never wait for the writer. The writer lock is SQLite's own: `BEGIN IMMEDIATE` is held for the
 * whole write, so a second writing process waits (up to `busyTimeoutMs`) and a crashed one releases it.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { NeurStoreError, conflict, ioError } from '../../errors.js';
import { FLOAT_BASE_DTYPES, type Catalog, type CatalogTotals, type CatalogTx, type ModelRow, type TensorRow } from '../catalog.js';
import { SCHEMA_SQL, SCHEMA_VERSION, fromSqlKey, toSqlKey } from './sqlite-schema.js';

export interface SqliteCatalogOptions {
  /** How long a writer waits for another process's write to finish (default 60 s). */
  busyTimeoutMs?: number;
}

type Row = Record<string, unknown>;

/** SQLite page size of a new catalog. */
const CATALOG_PAGE_BYTES = 1024;

export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  /** Serializes writers of this process; SQLite serializes processes. */
  private writeQueue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string, options: SqliteCatalogOptions = {}) {
    try {
      this.db = new Database(path, { timeout: options.busyTimeoutMs ?? 60_000 });
      // Small pages keep an almost empty catalog small (every table and index takes at least one page); this
      // only takes effect when the database is created, before WAL mode is switched on.
      this.db.pragma(`page_size = ${CATALOG_PAGE_BYTES}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      this.db.exec(SCHEMA_SQL);
      this.db.prepare('INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
    } catch (e) {
      throw ioError(`cannot open catalog ${path}`, e);
    }
    const version = (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as Row).value;
    if (version !== String(SCHEMA_VERSION)) {
      throw new NeurStoreError('NOT_SUPPORTED', `catalog ${path} has schema version ${version}; this NeurStore reads ${SCHEMA_VERSION}`);
    }
  }

  write<T>(fn: (tx: CatalogTx) => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(() => this.runWrite(fn));
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async runWrite<T>(fn: (tx: CatalogTx) => Promise<T>): Promise<T> {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      throw conflict(`another process is writing to the store (${(e as Error).message}); try again`);
    }
    try {
      const result = await fn(this.tx());
      this.db.exec('COMMIT');
      return result;
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw e;
    }
  }

  private tx(): CatalogTx {
    return {
      modelExists: async (name) => this.db.prepare('SELECT 1 FROM models WHERE name = ?').get(name) !== undefined,
      insertModel: async (model, tensors) => this.insert(model, tensors),
      deleteModel: async (name) => this.db.prepare('DELETE FROM models WHERE name = ?').run(name).changes > 0,
    };
  }

  private insert(m: ModelRow, tensors: readonly TensorRow[]): void {
    const id = this.db
      .prepare(
        `INSERT INTO models (name, format, created_ms, bytes_in, files, architecture_key, mode, tolerance, tensor_count, stored_bytes, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.name, m.format, m.createdMs, m.bytesIn, JSON.stringify(m.files), toSqlKey(m.architectureKey), m.mode, m.tolerance, m.tensorCount, m.storedBytes, JSON.stringify(m.metadata))
      .lastInsertRowid;
    const tag = this.db.prepare('INSERT INTO tags (model_id, key, value) VALUES (?, ?, ?)');
    for (const [k, v] of Object.entries(m.tags)) tag.run(id, k, v);
    const t = this.db.prepare(
      `INSERT INTO tensors (model_id, idx, name, dtype, shape, byte_length, record_key, stored_as, codec, base_key, depth, stored_bytes, bits, max_error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const r of tensors) {
      const base = r.baseKey === undefined ? null : toSqlKey(r.baseKey);
      t.run(id, r.index, r.name, r.dtype, JSON.stringify(r.shape), r.byteLength, toSqlKey(r.recordKey), r.storedAs, r.codec, base, r.depth, r.storedBytes, r.bits, r.maxError);
    }
  }

  async getModel(name: string): Promise<ModelRow | undefined> {
    const row = this.db.prepare('SELECT * FROM models WHERE name = ?').safeIntegers(true).get(name) as Row | undefined;
    return row && this.toModel(row);
  }

  async listModels(): Promise<ModelRow[]> {
    const rows = this.db.prepare('SELECT * FROM models ORDER BY name').safeIntegers(true).all() as Row[];
    return rows.map((r) => this.toModel(r));
  }

  private toModel(r: Row): ModelRow {
    const tags: Record<string, string> = {};
    for (const t of this.db.prepare('SELECT key, value FROM tags WHERE model_id = ? ORDER BY key').all(r.id) as Row[]) {
      tags[t.key as string] = t.value as string;
    }
    return {
      name: r.name as string,
      format: r.format as string,
      createdMs: Number(r.created_ms),
      bytesIn: Number(r.bytes_in),
      files: JSON.parse(r.files as string) as string[],
      architectureKey: fromSqlKey(r.architecture_key as bigint),
      mode: r.mode as ModelRow['mode'],
      tolerance: Number(r.tolerance),
      tensorCount: Number(r.tensor_count),
      storedBytes: Number(r.stored_bytes),
      metadata: JSON.parse(r.metadata as string) as Record<string, string>,
      tags,
    };
  }

  async tensors(name: string): Promise<TensorRow[]> {
    const rows = this.db
      .prepare('SELECT t.* FROM tensors t JOIN models m ON m.id = t.model_id WHERE m.name = ? ORDER BY t.idx')
      .safeIntegers(true)
      .all(name) as Row[];
    return rows.map((r) => ({
      index: Number(r.idx),
      name: r.name as string,
      dtype: r.dtype as string,
      shape: JSON.parse(r.shape as string) as number[],
      byteLength: Number(r.byte_length),
      recordKey: fromSqlKey(r.record_key as bigint),
      storedAs: r.stored_as as TensorRow['storedAs'],
      codec: r.codec as TensorRow['codec'],
      ...(r.base_key === null ? {} : { baseKey: fromSqlKey(r.base_key as bigint) }),
      depth: Number(r.depth),
      storedBytes: Number(r.stored_bytes),
      bits: Number(r.bits),
      maxError: Number(r.max_error),
    }));
  }

  async liveRecordKeys(): Promise<Set<bigint>> {
    const keys = new Set<bigint>();
    const sql = `SELECT DISTINCT record_key AS k FROM tensors UNION SELECT base_key FROM tensors WHERE base_key IS NOT NULL
                 UNION SELECT architecture_key FROM models`;
    for (const r of this.db.prepare(sql).safeIntegers(true).all() as Row[]) keys.add(fromSqlKey(r.k as bigint));
    return keys;
  }

  async baseCandidates(
    shape: readonly number[], maxDepth: number, limit: number, dtypes: readonly string[] = FLOAT_BASE_DTYPES,
  ): Promise<Array<{ key: bigint; dtype: string; depth: number }>> {
    if (dtypes.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT record_key AS k, MIN(dtype) AS dtype, MIN(depth) AS depth FROM tensors WHERE shape = ? AND depth < ?
                AND dtype IN (${dtypes.map(() => '?').join(', ')}) AND codec IN ('raw', 'lossless', 'group-delta') GROUP BY record_key
                ORDER BY MAX(rowid) DESC LIMIT ?`)
      .safeIntegers(true)
      .all(JSON.stringify(shape), maxDepth, ...dtypes, limit) as Row[];
    return rows.map((r) => ({ key: fromSqlKey(r.k as bigint), dtype: r.dtype as string, depth: Number(r.depth) }));
  }

  async paperBasesOfShape(shape: readonly number[]): Promise<bigint[]> {
    const rows = this.db
      .prepare("SELECT DISTINCT base_key AS k FROM tensors WHERE shape = ? AND codec = 'paper-delta' ORDER BY rowid")
      .safeIntegers(true)
      .all(JSON.stringify(shape)) as Row[];
    return rows.map((r) => fromSqlKey(r.k as bigint));
  }

  async tensorOfRecord(key: bigint): Promise<{ model: string; tensor: string } | undefined> {
    const r = this.db
      .prepare(`SELECT m.name AS model, t.name AS tensor FROM tensors t JOIN models m ON m.id = t.model_id
                WHERE t.record_key = @k OR (t.base_key = @k AND t.stored_as = 'paper-base') ORDER BY m.id, t.idx LIMIT 1`)
      .get({ k: toSqlKey(key) }) as Row | undefined;
    return r && { model: r.model as string, tensor: r.tensor as string };
  }

  async totals(): Promise<CatalogTotals> {
    const m = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes_in), 0) AS b FROM models').get() as Row;
    const t = this.db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT record_key) AS d FROM tensors').get() as Row;
    return { models: Number(m.n), bytesIn: Number(m.b), tensors: Number(t.n), distinctTensorRecords: Number(t.d) };
  }

  async diskBytes(): Promise<number> {
    let n = 0;
    // The database and its write-ahead log; not the -shm file, a shared-memory index SQLite deletes when the
    // last connection closes (it is not data, and would add 32 KiB to every open store).
    for (const suffix of ['', '-wal']) {
      try {
        n += statSync(this.path + suffix).size;
      } catch {
        // absent WAL/SHM files take no space
      }
    }
    return n;
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    try {
      // Fold the WAL back into the database so a closed store takes only the space its data needs.
      if (!this.db.inTransaction) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // another process is reading: its checkpoint will happen later
    }
    this.db.close();
  }
}
