/**
 * The catalog in PostgreSQL: the SQLite catalog's semantics (catalog/catalog.ts), its row checksums and its
 * orderings (names compare byte by byte: COLLATE "C", as SQLite's BINARY). Reads go through the pool, each a
 * single statement (one snapshot) or a REPEATABLE READ transaction where they take several; writes run in
 * the transaction of the write's own connection (`PostgresCatalogTx`), which the backend commits after every
 * record the write appended is committed.
 */
import type pg from 'pg';
import { NeurStoreError } from '../../errors.js';
import {
  FLOAT_BASE_DTYPES, type Catalog, type CatalogDamage, type CatalogTotals, type CatalogTx, type CodecName, type ModelRow, type TensorRow,
} from '../../catalog/catalog.js';
import { modelRowChecksum, tensorRowsChecksum } from '../../catalog/row-checksum.js';
import { pgError, poolClient } from './postgres-connect.js';
import { TENSOR_INSERT_SQL, damagedRow, readTensorRows, tensorColumns, toModelRow, toTensorRows, type Row } from './postgres-rows.js';
import { fromSqlKey, toSqlKey } from './postgres-schema.js';

type Queryable = Pick<pg.ClientBase, 'query'>;

/** Models with their tags aggregated into one JSON object (one statement: one snapshot). */
const MODELS_SQL = `SELECT m.*, (SELECT json_object_agg(t.key, t.value) FROM tags t WHERE t.model_id = m.id) AS tags FROM models m`;

/** Catalog writes inside a write's transaction, begun at the first call (a put codes for long before it names anything). */
export class PostgresCatalogTx implements CatalogTx {
  private begun = false;

  constructor(private readonly client: pg.Client, private readonly location: string) {}

  async begin(): Promise<void> {
    if (this.begun) return;
    await this.client.query('BEGIN').catch((e) => { throw pgError(e, this.location, 'cannot begin a write in'); });
    this.begun = true;
  }

  /** A statement of the write; reads before the first change run outside the transaction (none open yet). */
  private async q(what: string, sql: string, params?: unknown[], read = false): Promise<pg.QueryResult> {
    if (!read) await this.begin();
    try {
      return await this.client.query(sql, params);
    } catch (e) {
      throw pgError(e, this.location, what);
    }
  }

  /** Runs `before` in the transaction, then commits it. */
  async commit(before?: (db: pg.Client) => Promise<void>): Promise<void> {
    if (before) {
      await this.begin();
      await before(this.client).catch((e) => { throw pgError(e, this.location, 'cannot commit to'); });
    }
    if (this.begun) await this.client.query('COMMIT').catch((e) => { throw pgError(e, this.location, 'cannot commit to'); });
  }

  async rollback(): Promise<void> {
    if (this.begun) await this.client.query('ROLLBACK').catch(() => undefined);
  }

  async modelExists(name: string): Promise<boolean> {
    return (await this.q('cannot read', 'SELECT 1 FROM models WHERE name = $1', [name], true)).rows.length > 0;
  }

  async insertModel(m: ModelRow, tensors: readonly TensorRow[]): Promise<void> {
    const what = `cannot insert model '${m.name}' into`;
    const r = await this.q(what,
      `INSERT INTO models (name, format, created_ms, bytes_in, files, architecture_key, mode, tolerance, tensor_count, stored_bytes, metadata,
        row_crc, tensors_crc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
      [m.name, m.format, m.createdMs, m.bytesIn, JSON.stringify(m.files), toSqlKey(m.architectureKey), m.mode, m.tolerance, m.tensorCount,
        m.storedBytes, JSON.stringify(m.metadata), modelRowChecksum(m), tensorRowsChecksum(tensors)],
    ).catch((e: NeurStoreError) => {
      const taken = e.code === 'CONFLICT' && /models_name_key/.test(e.message); // 23505 on the name, not a lock conflict
      throw taken ? new NeurStoreError('CONFLICT', `a model named '${m.name}' exists in ${this.location}`) : e;
    });
    const id = r.rows[0].id as string;
    const tags = Object.entries(m.tags);
    if (tags.length) {
      await this.q(what, 'INSERT INTO tags (model_id, key, value) SELECT $1, * FROM unnest($2::text[], $3::text[])',
        [id, tags.map(([k]) => k), tags.map(([, v]) => v)]);
    }
    if (tensors.length) await this.q(what, TENSOR_INSERT_SQL, tensorColumns(id, tensors));
  }

  async deleteModel(name: string): Promise<boolean> {
    return ((await this.q('cannot delete from', 'DELETE FROM models WHERE name = $1', [name])).rowCount ?? 0) > 0;
  }

  /** Points every tensor stored in (or coded against) `from` at `to` (same exact content), checksums kept true. */
  async repointRecord(from: bigint, to: bigint): Promise<number> {
    const f = toSqlKey(from);
    const t = toSqlKey(to);
    // Locks the models in id order (FOR UPDATE), so two repoints cannot deadlock on each other's rows.
    const models = (await this.q('cannot update', `SELECT id FROM models WHERE id IN
      (SELECT model_id FROM tensors WHERE record_key = $1 OR base_key = $1) ORDER BY id FOR UPDATE`, [f])).rows.map((r) => r.id as string);
    for (const id of models) await this.tensorsOf(id); // never re-sign a damaged list
    const n = (await this.q('cannot update', 'UPDATE tensors SET record_key = $2 WHERE record_key = $1', [f, t])).rowCount ?? 0;
    await this.q('cannot update', 'UPDATE tensors SET base_key = $2 WHERE base_key = $1', [f, t]);
    for (const id of models) {
      const rows = (await this.q('cannot read', 'SELECT * FROM tensors WHERE model_id = $1 ORDER BY idx', [id])).rows;
      const fresh = tensorRowsChecksum(readTensorRows(this.location, { id }, rows));
      await this.q('cannot update', 'UPDATE models SET tensors_crc = $2 WHERE id = $1', [id, fresh]);
    }
    return n;
  }

  private async tensorsOf(id: string): Promise<TensorRow[]> {
    const m = (await this.q('cannot read', `${MODELS_SQL} WHERE m.id = $1`, [id])).rows[0] as Row;
    const rows = (await this.q('cannot read', 'SELECT * FROM tensors WHERE model_id = $1 ORDER BY idx', [id])).rows;
    toModelRow(this.location, m);
    return toTensorRows(this.location, m, rows);
  }
}

export class PostgresCatalog implements Catalog {
  constructor(private readonly pool: pg.Pool, private readonly location: string) {}

  private async query(sql: string, params?: unknown[], db: Queryable = this.pool): Promise<Row[]> {
    try {
      return (await db.query(sql, params)).rows as Row[];
    } catch (e) {
      throw pgError(e, this.location, 'cannot read the catalog in');
    }
  }

  /** Runs `fn` on one REPEATABLE READ snapshot (several statements that must agree: models and their tensors). */
  private async snapshot<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    const client = await poolClient(this.pool, this.location);
    let broken: Error | undefined;
    try {
      await this.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', [], client);
      const result = await fn(client);
      await this.query('COMMIT', [], client);
      return result;
    } catch (e) {
      await client.query('ROLLBACK').catch((err: Error) => { broken = err; });
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async getModel(name: string): Promise<ModelRow | undefined> {
    const [row] = await this.query(`${MODELS_SQL} WHERE m.name = $1`, [name]);
    if (row) return toModelRow(this.location, row);
    // A miss may be a damaged name: say so rather than "not found" (model rows only: cheap, as in SQLite).
    const damage = (await this.query(MODELS_SQL)).flatMap((r) => {
      try {
        toModelRow(this.location, r);
        return [];
      } catch (e) {
        if (!(e instanceof NeurStoreError)) throw e;
        return [e];
      }
    })[0];
    if (damage) throw new NeurStoreError('CORRUPTION', `no intact model named '${name}'; ${damage.message}`);
    return undefined;
  }

  async listModels(): Promise<ModelRow[]> {
    return (await this.query(`${MODELS_SQL} ORDER BY m.name COLLATE "C"`)).map((r) => toModelRow(this.location, r));
  }

  async modelNames(): Promise<string[]> {
    return (await this.query('SELECT name FROM models ORDER BY name COLLATE "C"')).map((r) => r.name as string);
  }

  async tensors(name: string): Promise<TensorRow[]> {
    // One statement: the model's checksum and its tensor rows from the same snapshot.
    const rows = await this.query(`SELECT m.id AS m_id, m.name AS m_name, m.tensors_crc AS m_crc, m.tensor_count AS m_count, t.*
      FROM models m LEFT JOIN tensors t ON t.model_id = m.id WHERE m.name = $1 ORDER BY t.idx`, [name]);
    if (rows.length === 0) return [];
    const m = rows[0]!;
    const model = { id: m.m_id, name: m.m_name, tensors_crc: m.m_crc, tensor_count: m.m_count };
    return toTensorRows(this.location, model, rows.filter((r) => r.idx !== null));
  }

  /** Every model row and tensor list checked against its checksum. */
  async check(): Promise<CatalogDamage[]> {
    return this.snapshot(async (db) => {
      const damage: CatalogDamage[] = [];
      const byModel = await this.tensorRowsByModel(db);
      for (const r of await this.query(`${MODELS_SQL} ORDER BY m.id`, [], db)) {
        try {
          toModelRow(this.location, r);
          toTensorRows(this.location, r, byModel.get(String(r.id)) ?? []);
        } catch (e) {
          if (!(e instanceof NeurStoreError)) throw e;
          damage.push({ model: r.name as string, message: e.message });
        }
      }
      return damage;
    });
  }

  private async tensorRowsByModel(db: Queryable): Promise<Map<string, Row[]>> {
    const byModel = new Map<string, Row[]>();
    for (const t of await this.query('SELECT * FROM tensors ORDER BY model_id, idx', [], db)) {
      const id = String(t.model_id);
      const list = byModel.get(id);
      if (list) list.push(t);
      else byModel.set(id, [t]);
    }
    return byModel;
  }

  async liveRecordKeys(): Promise<Set<bigint>> {
    // Through the checked rows: a damaged record key must stop gc, not make it drop the real record.
    return this.snapshot(async (db) => {
      const keys = new Set<bigint>();
      const byModel = await this.tensorRowsByModel(db);
      for (const m of await this.query(MODELS_SQL, [], db)) {
        keys.add(toModelRow(this.location, m).architectureKey);
        for (const t of toTensorRows(this.location, m, byModel.get(String(m.id)) ?? [])) {
          keys.add(t.recordKey);
          if (t.baseKey !== undefined) keys.add(t.baseKey);
        }
        byModel.delete(String(m.id));
      }
      if (byModel.size) throw damagedRow(this.location, [...byModel.keys()][0], null, 'tensor rows name no model:');
      return keys;
    });
  }

  async baseCandidates(
    shape: readonly number[], maxDepth: number, limit: number, dtypes: readonly string[] = FLOAT_BASE_DTYPES,
    codecs: readonly CodecName[] = ['raw', 'lossless', 'group-delta'], name?: string,
  ): Promise<Array<{ key: bigint; dtype: string; depth: number }>> {
    if (dtypes.length === 0 || codecs.length === 0) return [];
    const rows = await this.query(`SELECT record_key AS k, MIN(dtype COLLATE "C") AS dtype, MIN(depth) AS depth FROM tensors
      WHERE shape = $1 AND depth < $2 AND dtype = ANY($3::text[]) AND codec = ANY($4::text[]) AND ($5::text IS NULL OR name = $5)
      GROUP BY record_key ORDER BY MAX(seq) DESC LIMIT $6`, [JSON.stringify(shape), maxDepth, dtypes, codecs, name ?? null, limit]);
    return rows.map((r) => ({ key: fromSqlKey(r.k as string), dtype: r.dtype as string, depth: Number(r.depth) }));
  }

  async paperBasesOfShape(shape: readonly number[]): Promise<bigint[]> {
    const rows = await this.query(`SELECT base_key AS k FROM tensors WHERE shape = $1 AND codec = 'paper-delta' AND base_key IS NOT NULL
      GROUP BY base_key ORDER BY MIN(seq)`, [JSON.stringify(shape)]);
    return rows.map((r) => fromSqlKey(r.k as string));
  }

  async tensorOfRecord(key: bigint): Promise<{ model: string; tensor: string } | undefined> {
    const [r] = await this.query(`SELECT m.name AS model, t.name AS tensor FROM tensors t JOIN models m ON m.id = t.model_id
      WHERE t.record_key = $1 OR (t.base_key = $1 AND t.stored_as = 'paper-base') ORDER BY m.id, t.idx LIMIT 1`, [toSqlKey(key)]);
    return r && { model: r.model as string, tensor: r.tensor as string };
  }

  async totals(): Promise<CatalogTotals> {
    const [r] = await this.query(`SELECT (SELECT count(*) FROM models) AS models, (SELECT COALESCE(SUM(bytes_in), 0) FROM models) AS bytes_in,
      (SELECT count(*) FROM tensors) AS tensors, (SELECT count(DISTINCT record_key) FROM tensors) AS distinct_records`);
    return { models: Number(r!.models), bytesIn: Number(r!.bytes_in), tensors: Number(r!.tensors), distinctTensorRecords: Number(r!.distinct_records) };
  }

  async diskBytes(): Promise<number> {
    const [r] = await this.query(`SELECT pg_total_relation_size('meta') + pg_total_relation_size('models') + pg_total_relation_size('tags')
      + pg_total_relation_size('tensors') AS b`);
    return Number(r!.b);
  }

  /** The pool belongs to the backend, which ends it. */
  async close(): Promise<void> {}
}
