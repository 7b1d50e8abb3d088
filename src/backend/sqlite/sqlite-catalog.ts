/**
 * The embedded catalog: one SQLite database (better-sqlite3) in the store directory, in WAL mode so readers in
 * other processes never wait for the writer. The writer lock is SQLite's own: `begin` (`BEGIN IMMEDIATE`) is held
 * for the whole `SqliteBackend.write`, so a second writing process waits (up to `busyTimeoutMs`) and a crashed
 * one releases it.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { NeurStoreError, conflict } from '../../errors.js';
import {
  FLOAT_BASE_DTYPES, type Catalog, type CatalogDamage, type CodecName, type CatalogTotals, type CatalogTx, type ModelRow, type TensorRow,
} from '../../catalog/catalog.js';
import { modelRowChecksum, tensorRowsChecksum } from '../../catalog/row-checksum.js';
import { MIGRATE_1_TO_2_SQL, SCHEMA_SQL, SCHEMA_VERSION, fromSqlKey, toSqlKey } from './sqlite-schema.js';
import { guarded, openReadOnly, sqliteError } from './sqlite-open.js';
import { damagedRow, toModelRow, toTensorRows, type Row } from './sqlite-rows.js';

export interface SqliteCatalogOptions {
  /** How long a writer waits for another process's write to finish (default 60 s). */
  busyTimeoutMs?: number;
  /** Open for reading only: works on a full disk and on read-only media; `write` is refused. */
  readOnly?: boolean;
}

/** SQLite page size of a new catalog. */
const CATALOG_PAGE_BYTES = 1024;

export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  private readonly readOnly: boolean;

  constructor(readonly path: string, options: SqliteCatalogOptions = {}) {
    this.readOnly = Boolean(options.readOnly);
    const timeout = options.busyTimeoutMs ?? 60_000;
    this.db = this.readOnly ? openReadOnly(path, timeout) : guarded(path, 'cannot open catalog', () => new Database(path, { timeout }));
    try {
      if (!this.readOnly) this.prepareWritable();
      const version = this.version();
      if (version !== String(SCHEMA_VERSION) && !(this.readOnly && version === '1')) {
        throw new NeurStoreError('NOT_SUPPORTED', `catalog ${path} has schema version ${version}; this NeurStore reads ${SCHEMA_VERSION}`);
      }
    } catch (e) {
      this.db.close();
      throw sqliteError(path, 'cannot open catalog', e);
    }
  }

  private version(): string {
    return (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as Row | undefined)?.value as string;
  }

  /** Settings, schema and migrations; writes nothing when the catalog is already current. */
  private prepareWritable(): void {
    const fresh = this.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'meta'").get() === undefined;
    if (fresh) {
      // Small pages keep an almost empty catalog small (every table and index takes at least one page); this
      // only takes effect when the database is created, before WAL mode is switched on.
      this.db.pragma(`page_size = ${CATALOG_PAGE_BYTES}`);
    }
    if (this.db.pragma('journal_mode', { simple: true }) !== 'wal') this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    if (fresh) {
      this.db.exec(SCHEMA_SQL);
      this.db.prepare('INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
    }
    if (this.version() === '1') this.migrateTo2();
  }

  private migrateTo2(): void {
    this.db.transaction(() => {
      this.db.exec(MIGRATE_1_TO_2_SQL);
      for (const r of this.db.prepare('SELECT * FROM models').safeIntegers(true).all() as Row[]) this.updateChecksums(r);
      this.db.prepare("UPDATE meta SET value = '2' WHERE key = 'schema_version'").run();
    })();
  }

  /** Recomputes and stores a model row's checksums from what it holds now. */
  private updateChecksums(r: Row): void {
    const model = toModelRow(this.path, { ...r, row_crc: null }, this.tagRows(r.id));
    const tensors = toTensorRows(this.path, { ...r, tensors_crc: null }, this.tensorRows(r.id));
    this.db.prepare('UPDATE models SET row_crc = ?, tensors_crc = ? WHERE id = ?').run(modelRowChecksum(model), tensorRowsChecksum(tensors), r.id);
  }

  /**
   * Starts the write transaction (`BEGIN IMMEDIATE`: SQLite's writer lock, held until `commit` or `rollback`;
   * a second process waits up to the busy timeout, then CONFLICT). Only `SqliteBackend.write` calls these.
   */
  begin(): void {
    if (this.readOnly) throw conflict('the store is open read-only');
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      const mapped = sqliteError(this.path, 'cannot start a write on', e);
      if (mapped.code === 'CONFLICT') throw conflict(`another process is writing to the store (${(e as Error).message}); try again`);
      throw mapped;
    }
  }

  commit(): void {
    guarded(this.path, 'cannot commit to', () => this.db.exec('COMMIT'));
  }

  rollback(): void {
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  /** Catalog writes inside the transaction `begin` started. */
  tx(): CatalogTx {
    const g = <T>(what: string, f: () => T): Promise<T> => Promise.resolve().then(() => guarded(this.path, what, f));
    return {
      modelExists: (name) => g('read', () => this.db.prepare('SELECT 1 FROM models WHERE name = ?').get(name) !== undefined),
      insertModel: (model, tensors) => g('insert into', () => this.insert(model, tensors)),
      deleteModel: (name) => g('delete from', () => this.db.prepare('DELETE FROM models WHERE name = ?').run(name).changes > 0),
      repointRecord: (from, to) => g('update', () => this.repoint(from, to)),
    };
  }

  private insert(m: ModelRow, tensors: readonly TensorRow[]): void {
    const id = this.db
      .prepare(
        `INSERT INTO models (name, format, created_ms, bytes_in, files, architecture_key, mode, tolerance, tensor_count, stored_bytes, metadata, row_crc, tensors_crc)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(m.name, m.format, m.createdMs, m.bytesIn, JSON.stringify(m.files), toSqlKey(m.architectureKey), m.mode, m.tolerance, m.tensorCount,
        m.storedBytes, JSON.stringify(m.metadata), modelRowChecksum(m), tensorRowsChecksum(tensors))
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

  /** Points every tensor stored in record `from` at record `to` (same exact content), checksums kept true. */
  private repoint(from: bigint, to: bigint): number {
    const models = this.db.prepare('SELECT DISTINCT m.* FROM models m JOIN tensors t ON t.model_id = m.id WHERE t.record_key = ? OR t.base_key = ?')
      .safeIntegers(true).all(toSqlKey(from), toSqlKey(from)) as Row[];
    for (const m of models) toTensorRows(this.path, m, this.tensorRows(m.id)); // never re-sign a damaged list
    const n = this.db.prepare('UPDATE tensors SET record_key = ? WHERE record_key = ?').run(toSqlKey(to), toSqlKey(from)).changes;
    // Tensors coded against the replaced record name the fresh copy as their base (same content), so the replaced
    // one, and the damaged records it names, are no longer kept alive by them.
    this.db.prepare('UPDATE tensors SET base_key = ? WHERE base_key = ?').run(toSqlKey(to), toSqlKey(from));
    for (const m of models) this.updateChecksums(m);
    return n;
  }

  private tagRows(id: unknown): Row[] {
    return this.db.prepare('SELECT key, value FROM tags WHERE model_id = ? ORDER BY key').all(id) as Row[];
  }

  private tensorRows(id: unknown): Row[] {
    return this.db.prepare('SELECT * FROM tensors WHERE model_id = ? ORDER BY idx').safeIntegers(true).all(id) as Row[];
  }

  private modelRow(name: string): Row | undefined {
    return this.db.prepare('SELECT * FROM models WHERE name = ?').safeIntegers(true).get(name) as Row | undefined;
  }

  async getModel(name: string): Promise<ModelRow | undefined> {
    return guarded(this.path, 'read', () => {
      const row = this.modelRow(name);
      if (row) return toModelRow(this.path, row, this.tagRows(row.id));
      // A miss may be a damaged name: say so rather than "not found".
      const damage = this.checkRows(false)[0];
      if (damage) throw new NeurStoreError('CORRUPTION', `no intact model named '${name}'; ${damage.message}`);
      return undefined;
    });
  }

  async listModels(): Promise<ModelRow[]> {
    return guarded(this.path, 'read', () => {
      const rows = this.db.prepare('SELECT * FROM models ORDER BY name').safeIntegers(true).all() as Row[];
      return rows.map((r) => toModelRow(this.path, r, this.tagRows(r.id)));
    });
  }

  async modelNames(): Promise<string[]> {
    return guarded(this.path, 'read', () => (this.db.prepare('SELECT name FROM models ORDER BY name').all() as Row[]).map((r) => r.name as string));
  }

  async tensors(name: string): Promise<TensorRow[]> {
    return guarded(this.path, 'read', () => {
      const model = this.modelRow(name);
      return model ? toTensorRows(this.path, model, this.tensorRows(model.id)) : [];
    });
  }

  /** Every model row and tensor list checked against its checksum (and, with `deep`, SQLite's own integrity_check). */
  async check(): Promise<CatalogDamage[]> {
    return guarded(this.path, 'check', () => this.checkRows(true));
  }

  private checkRows(deep: boolean): CatalogDamage[] {
    const damage: CatalogDamage[] = [];
    if (deep) {
      for (const r of this.db.pragma('integrity_check') as Row[]) {
        if (r.integrity_check !== 'ok') damage.push({ model: null, message: `SQLite integrity_check: ${String(r.integrity_check)}` });
      }
    }
    for (const r of this.db.prepare('SELECT * FROM models ORDER BY id').safeIntegers(true).all() as Row[]) {
      try {
        toModelRow(this.path, r, this.tagRows(r.id));
        if (deep) toTensorRows(this.path, r, this.tensorRows(r.id));
      } catch (e) {
        if (!(e instanceof NeurStoreError)) throw e;
        damage.push({ model: r.name as string, message: e.message });
      }
    }
    return damage;
  }

  async liveRecordKeys(): Promise<Set<bigint>> {
    // Through the checked rows: a damaged record key must stop gc, not make it drop the real record.
    return guarded(this.path, 'read', () => {
      const keys = new Set<bigint>();
      for (const m of this.db.prepare('SELECT * FROM models').safeIntegers(true).all() as Row[]) {
        keys.add(toModelRow(this.path, m, this.tagRows(m.id)).architectureKey);
        for (const t of toTensorRows(this.path, m, this.tensorRows(m.id))) {
          keys.add(t.recordKey);
          if (t.baseKey !== undefined) keys.add(t.baseKey);
        }
      }
      const orphans = this.db.prepare('SELECT COUNT(*) AS n FROM tensors WHERE model_id NOT IN (SELECT id FROM models)').get() as Row;
      if (Number(orphans.n) > 0) throw damagedRow(this.path, '?', null, `${Number(orphans.n)} tensor rows name no model:`);
      return keys;
    });
  }
  async baseCandidates(
    shape: readonly number[], maxDepth: number, limit: number, dtypes: readonly string[] = FLOAT_BASE_DTYPES,
    codecs: readonly CodecName[] = ['raw', 'lossless', 'group-delta'], name?: string,
  ): Promise<Array<{ key: bigint; dtype: string; depth: number }>> {
    if (dtypes.length === 0 || codecs.length === 0) return [];
    const rows = guarded(this.path, 'read', () => this.db
      .prepare(`SELECT record_key AS k, MIN(dtype) AS dtype, MIN(depth) AS depth FROM tensors WHERE shape = ? AND depth < ?
                AND dtype IN (${dtypes.map(() => '?').join(', ')}) AND codec IN (${codecs.map(() => '?').join(', ')})${name === undefined ? '' : ' AND name = ?'} GROUP BY record_key
                ORDER BY MAX(rowid) DESC LIMIT ?`)
      .safeIntegers(true)
      .all(JSON.stringify(shape), maxDepth, ...dtypes, ...codecs, ...(name === undefined ? [] : [name]), limit) as Row[]);
    return rows.map((r) => ({ key: fromSqlKey(r.k as bigint), dtype: r.dtype as string, depth: Number(r.depth) }));
  }

  async paperBasesOfShape(shape: readonly number[]): Promise<bigint[]> {
    const rows = guarded(this.path, 'read', () => this.db
      .prepare("SELECT DISTINCT base_key AS k FROM tensors WHERE shape = ? AND codec = 'paper-delta' ORDER BY rowid")
      .safeIntegers(true)
      .all(JSON.stringify(shape)) as Row[]);
    return rows.map((r) => fromSqlKey(r.k as bigint));
  }

  async tensorOfRecord(key: bigint): Promise<{ model: string; tensor: string } | undefined> {
    const r = guarded(this.path, 'read', () => this.db
      .prepare(`SELECT m.name AS model, t.name AS tensor FROM tensors t JOIN models m ON m.id = t.model_id
                WHERE t.record_key = @k OR (t.base_key = @k AND t.stored_as = 'paper-base') ORDER BY m.id, t.idx LIMIT 1`)
      .get({ k: toSqlKey(key) }) as Row | undefined);
    return r && { model: r.model as string, tensor: r.tensor as string };
  }

  async totals(): Promise<CatalogTotals> {
    const m = guarded(this.path, 'read', () => this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes_in), 0) AS b FROM models').get() as Row);
    const t = guarded(this.path, 'read', () => this.db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT record_key) AS d FROM tensors').get() as Row);
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
      if (!this.db.inTransaction && !this.readOnly) this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // another process is reading: its checkpoint will happen later
    }
    this.db.close();
  }
}
