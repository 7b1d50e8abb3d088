/**
 * Test support for the PostgreSQL backend: one throwaway server per test file (src/testing/pg-server.ts), a
 * fresh database per case, and the `damage` hook of the shared suites (flips a byte of a record's first page).
 * When PostgreSQL is missing the file's tests skip with a loud message, except in CI, where `pgTestSkip` throws.
 */
import { after, test, type TestContext } from 'node:test';
import pg from 'pg';
import { pgTestSkip, startPgServer, type PgServer } from '../../../testing/pg-server.js';
import type { RecordStoreHarness } from '../../record-store.case.js';
import { PostgresBackend, type PostgresOpenOptions } from '../postgres-backend.js';
import { keyHex } from '../postgres-records.js';

export interface PgFixture {
  readonly server: PgServer;
  /** A URL of a fresh, empty database on the server. */
  freshUrl(): Promise<string>;
  /** A factory for the shared *.case.ts suites. */
  factory(t: TestContext): Promise<RecordStoreHarness>;
  /** Runs SQL on the database at `url`. */
  sql(url: string, text: string, params?: unknown[]): Promise<pg.QueryResult>;
}

/** Starts the file's server, or registers one skipped test and returns undefined (never in CI). */
export async function pgFixture(file: string): Promise<PgFixture | undefined> {
  const reason = pgTestSkip(Boolean(process.env.CI));
  if (reason) {
    console.error(`\n!!! ${file}: SKIPPING the PostgreSQL tests: ${reason}\n`);
    test(`${file}: PostgreSQL tests`, { skip: reason }, () => undefined);
    return undefined;
  }
  const server = await startPgServer();
  after(() => server.stop());
  let n = 0;
  const sql = async (url: string, text: string, params?: unknown[]): Promise<pg.QueryResult> => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return await c.query(text, params);
    } finally {
      await c.end();
    }
  };
  const freshUrl = async (): Promise<string> => {
    const db = `case_${++n}`;
    await sql(server.url, `CREATE DATABASE ${db}`);
    return server.url.replace(/\/postgres$/, `/${db}`);
  };
  const factory = async (_t: TestContext, options: PostgresOpenOptions = {}): Promise<RecordStoreHarness> => {
    const url = await freshUrl();
    return {
      backend: await PostgresBackend.open(url, { create: true, ...options }),
      reopen: () => PostgresBackend.open(url, options),
      cleanup: async () => { await sql(server.url, `DROP DATABASE ${url.slice(url.lastIndexOf('/') + 1)} WITH (FORCE)`); },
      damage: async (key: bigint) => {
        const r = await sql(url, `UPDATE neurstore.record_pages SET data = set_byte(data, length(data) / 2, get_byte(data, length(data) / 2) # 1)
          WHERE key = $1 AND page = 0`, [BigInt.asIntN(64, key).toString()]);
        if (r.rowCount !== 1) throw new Error(`no page 0 of record ${keyHex(key)} to damage`);
        return `record_pages key ${keyHex(key)}`;
      },
    };
  };
  return { server, freshUrl, factory, sql };
}
