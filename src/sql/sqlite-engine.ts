/**
 * `neurstore sql --db FILE.sqlite`: the query runs in that SQLite database (better-sqlite3), with the store's
 * `models` and `tensors` tables in an attached in-memory database `neurstore` (a table of the user's with the
 * same name wins; `neurstore.models` always works) and `predict`/`predict_scores` as user functions. SQLite has
 * no arrays: features are a JSON array text (`'[0.1, 0.5]'`) or a BLOB of float32s, and `predict_scores`
 * returns a JSON array text. SQLite calls a function once per row, so each row is one runtime call.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { NeurStoreError, isNeurStoreError, notFound } from '../errors.js';
import type { ModelHost } from './model-host.js';
import { argmax } from './model-runner.js';
import { PREDICT_FUNCTIONS, fail, featuresOfValue, modelArgs, scoreBatch, type PredictFunction } from './predict-core.js';
import { sqlIdent, type ColumnKind, type StoreTable } from './store-tables.js';
import { sqlFailure, type SqlEngine, type SqlResult } from './sql-engine.js';

const SQLITE_TYPES: Record<ColumnKind, string> = {
  text: 'TEXT', double: 'REAL', integer: 'INTEGER', bigint: 'INTEGER', timestamp: 'TEXT', int_list: 'TEXT', text_map: 'TEXT', text_list: 'TEXT',
};

function sqliteValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

/** Rows a statement yields per batch handed to the caller. */
const ROWS_PER_BATCH = 1024;

export class SqliteEngine implements SqlEngine {
  private constructor(private readonly db: Database.Database) {}

  /** Opens the SQLite database at `path` (NOT_FOUND when it does not exist) with the store's tables and functions. */
  static open(host: ModelHost | undefined, tables: readonly StoreTable[], path: string): SqliteEngine {
    if (!existsSync(path)) throw notFound(`no SQLite database at ${path}`);
    const db = new Database(path, { fileMustExist: true });
    const engine = new SqliteEngine(db);
    try {
      db.exec("ATTACH DATABASE ':memory:' AS neurstore");
      for (const t of tables) {
        db.exec(`CREATE TABLE neurstore.${t.name} (${t.columns.map(([n, k]) => `${sqlIdent(n)} ${SQLITE_TYPES[k]}`).join(', ')})`);
        const insert = db.prepare(`INSERT INTO neurstore.${t.name} VALUES (${t.columns.map(() => '?').join(', ')})`);
        db.transaction(() => { for (const r of t.rows) insert.run(...r.map(sqliteValue)); })();
      }
      if (host) for (const fn of PREDICT_FUNCTIONS) db.function(fn, { varargs: true, deterministic: true }, engine.predictFunction(fn, host));
    } catch (e) {
      db.close();
      throw e;
    }
    return engine;
  }

  private predictFunction(fn: PredictFunction, host: ModelHost): (...args: unknown[]) => unknown {
    return (...args) => {
      try {
        if (args.length < 2 || args.length > 3) fail(fn, undefined, `takes (model, features [, load_mode]), got ${args.length} arguments`);
        const { model, mode } = modelArgs(fn, 1, args[0], args[2]);
        const { scores, perRow } = scoreBatch(host, fn, { model, mode, rows: [0], vectors: [featuresOfValue(fn, 1, args[1])] });
        return fn === 'predict' ? argmax(scores, 0, perRow) : JSON.stringify(Array.from(scores));
      } catch (e) {
        // better-sqlite3 rethrows it as the statement's error; a row number within one call would mislead.
        if (!isNeurStoreError(e)) throw e;
        throw new NeurStoreError(e.code, e.message.replace(/^(\w+\(\)): row 1: /, '$1: '), { cause: e });
      }
    };
  }

  async query(sql: string): Promise<SqlResult> {
    try {
      const stmt = this.db.prepare(sql);
      if (!stmt.reader) {
        stmt.run();
        return { columns: [], rows: (async function* () {})() };
      }
      const columns = stmt.columns().map((c) => c.name);
      const it = stmt.raw(true).iterate() as IterableIterator<unknown[]>;
      async function* rows(): AsyncGenerator<unknown[][]> {
        try {
          let batch: unknown[][] = [];
          for (const r of it) {
            batch.push(r);
            if (batch.length === ROWS_PER_BATCH) {
              yield batch;
              batch = [];
            }
          }
          if (batch.length) yield batch;
        } catch (e) {
          throw sqlFailure(e, undefined);
        }
      }
      return { columns, rows: rows() };
    } catch (e) {
      throw sqlFailure(e, undefined);
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
