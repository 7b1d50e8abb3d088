/**
 * `neurstore sql` as a library call: opens the engine a `--db` value names, with the store's tables (read once,
 * read-only) and the model functions (served by a `ModelHost` over the same store), and runs queries in it.
 *
 *   db omitted            DuckDB in memory (it reads CSV, Parquet and JSON files: `FROM 'digits.csv'`)
 *   FILE.duckdb / .ddb    that DuckDB database
 *   any other FILE        a SQLite database (checked by its header)
 *   postgres://...        NOT_SUPPORTED here: PostgreSQL runs no JS functions; `infer` scores its rows
 *
 * The store is never written: models load read-only, and the store tables are copies in memory.
 */
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { extname } from 'node:path';
import { invalidArgument, notFound, notSupported } from '../errors.js';
import { NeurStore } from '../store/neur-store.js';
import { DuckdbEngine } from './duckdb-engine.js';
import { ModelHost } from './model-host.js';
import { SqliteEngine } from './sqlite-engine.js';
import type { SqlEngine, SqlResult } from './sql-engine.js';
import { storeTables } from './store-tables.js';

export type { SqlResult } from './sql-engine.js';

export interface SqlOptions {
  /** The store whose models and tables the query sees. */
  readonly storeDir: string;
  /** Where the query runs (see the module comment); default DuckDB in memory. */
  readonly db?: string;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** Which engine `db` names: 'duckdb' or 'sqlite'. NOT_FOUND / INVALID_ARGUMENT / NOT_SUPPORTED otherwise. */
export function engineOf(db: string | undefined): 'duckdb' | 'sqlite' {
  if (db === undefined) return 'duckdb';
  if (isPostgresUrl(db)) {
    throw notSupported('sql --db postgres://...: PostgreSQL cannot call NeurStore\'s functions; score its rows with `neurstore infer MODEL --db URL --query ... --into TABLE`, then query TABLE there');
  }
  if (['.duckdb', '.ddb'].includes(extname(db).toLowerCase())) return 'duckdb';
  if (!existsSync(db)) throw notFound(`--db ${db}: no such file (a SQLite database must exist; name a DuckDB file *.duckdb to create one)`);
  const fd = openSync(db, 'r');
  const head = Buffer.alloc(16);
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_MAGIC) throw invalidArgument(`--db ${db} is not a SQLite database (name a DuckDB file *.duckdb)`);
  return 'sqlite';
}

export class SqlSession {
  private constructor(private readonly engine: SqlEngine, private readonly host: ModelHost) {}

  /** Opens the engine; NOT_FOUND when the store or the database file does not exist. */
  static async open(options: SqlOptions): Promise<SqlSession> {
    const kind = engineOf(options.db);
    const store = await NeurStore.open(options.storeDir, { readOnly: true, decodeWorkers: 0 });
    let tables;
    try {
      tables = await storeTables(store);
    } finally {
      await store.close();
    }
    const host = new ModelHost(options.storeDir);
    try {
      const engine = kind === 'sqlite' ? SqliteEngine.open(host, tables, options.db!) : await DuckdbEngine.open(host, tables, options.db);
      return new SqlSession(engine, host);
    } catch (e) {
      await host.close();
      throw e;
    }
  }

  /** Runs one statement; its rows stream in batches. */
  query(sql: string): Promise<SqlResult> {
    if (typeof sql !== 'string' || sql.trim() === '') throw invalidArgument('the query is empty');
    return this.engine.query(sql);
  }

  /** Runs `sql` and returns all its rows (for small results: tests, scripts). */
  async all(sql: string): Promise<{ columns: readonly string[]; rows: unknown[][] }> {
    const r = await this.query(sql);
    const rows: unknown[][] = [];
    for await (const b of r.rows) rows.push(...b);
    return { columns: r.columns, rows };
  }

  async close(): Promise<void> {
    try {
      await this.engine.close();
    } finally {
      await this.host.close();
    }
  }
}
