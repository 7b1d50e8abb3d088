/**
 * The PostgreSQL backend: records (as pages) and catalog in one database, shared by any number of NeurStore
 * processes on any number of machines.
 *
 * Write protocol (backend.ts), two-phase:
 * 1. `write` opens a connection of its own and takes the store's write lock on it as a session-level advisory
 *    lock: shared for puts and removals (writers run side by side), exclusive for gc. A killed client's session
 *    ends and the server releases its lock; waiting is bounded by `lock_timeout` (CONFLICT).
 * 2. Each `append` commits its record at once, in a short transaction of its own (postgres-records.ts): records
 *    are durable before anything names them, and no transaction ever holds two record keys, so writers storing
 *    overlapping content cannot deadlock (random lock order did, under 6 writers).
 * 3. The catalog part of the write is one transaction on the write's connection, committed after every append
 *    of the write has settled. A write that throws or rolls back deletes the records it appended that no other
 *    write has claimed meanwhile (`records.owner`, postgres-records.ts: until a write commits, other writes do
 *    not see its records through `has`, and claim them when they append them); what it cannot delete (its
 *    connection lost, or the process killed) stays unnamed, and the next gc reclaims it: gc holds the lock
 *    exclusively, so it never runs while a writer holds a record it has appended or found but not yet named.
 * Reads use a pool and see what is committed: `get` also the appends of a write still open, `has` only its own.
 */
import type pg from 'pg';
import { cancelled, conflict, isNeurStoreError } from '../../errors.js';
import type { Backend, BackendStats, BackendTx, WriteOptions } from '../backend.js';
import { PostgresCatalog, PostgresCatalogTx } from './postgres-catalog.js';
import { DEFAULT_TIMEOUTS, connectClient, endClient, newPool, pgError, redactUrl, type PgTimeouts } from './postgres-connect.js';
import { PAGE_BYTES, PostgresRecords, currentWrite } from './postgres-records.js';
import { LOCK_SPACE, WRITE_LOCK, prepareSchema } from './postgres-schema.js';

export interface PostgresOpenOptions {
  /** Create the database's store schema (and the database itself) when missing. */
  readonly create?: boolean;
  readonly readOnly?: boolean;
  /** Pooled connections for reads and appends (default 8). */
  readonly poolSize?: number;
  readonly timeouts?: Partial<PgTimeouts>;
  /** Bytes per record page (default PAGE_BYTES; for measurements). */
  readonly pageBytes?: number;
}

export class PostgresBackend implements Backend {
  readonly kind = 'postgres';
  readonly catalog: PostgresCatalog;
  readonly records: PostgresRecords;
  private closed = false;

  private constructor(
    private readonly url: string, readonly location: string, readonly readOnly: boolean,
    private readonly timeouts: PgTimeouts, private readonly pool: pg.Pool, pageBytes: number,
  ) {
    this.records = new PostgresRecords(pool, location, pageBytes);
    this.catalog = new PostgresCatalog(pool, location);
  }

  /** Opens the store in the database at `url`: NOT_FOUND with a hint when it holds none (unless `create`). */
  static async open(url: string, options: PostgresOpenOptions = {}): Promise<PostgresBackend> {
    const location = redactUrl(url);
    const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const readOnly = Boolean(options.readOnly);
    let client: pg.Client;
    try {
      client = await connectClient(url, timeouts, readOnly, location);
    } catch (e) {
      if (!(options.create && isNeurStoreError(e, 'NOT_FOUND'))) throw e;
      await createDatabase(url, timeouts, location);
      client = await connectClient(url, timeouts, readOnly, location);
    }
    try {
      await prepareSchema(client, location, options);
    } finally {
      await endClient(client);
    }
    const pool = newPool(url, timeouts, readOnly, options.poolSize ?? 8);
    return new PostgresBackend(url, location, readOnly, timeouts, pool, options.pageBytes ?? PAGE_BYTES);
  }

  private connect(): Promise<pg.Client> {
    return connectClient(this.url, this.timeouts, this.readOnly, this.location);
  }

  async write<T>(fn: (tx: BackendTx) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    if (this.readOnly) throw conflict(`the store at ${this.location} is open read-only`);
    if (options.signal?.aborted) throw cancelled('the write was cancelled before it began; nothing was written');
    const client = await this.connect();
    try {
      const lock = options.exclusive ? 'pg_advisory_lock' : 'pg_advisory_lock_shared';
      await client.query(`SELECT ${lock}($1, $2)`, [LOCK_SPACE, WRITE_LOCK]).catch((e) => { throw pgError(e, this.location, 'cannot lock'); });
      const catalog = new PostgresCatalogTx(client, this.location);
      const records = this.records.writer(options.exclusive ? client : undefined);
      let result: T;
      try {
        result = await currentWrite.run(records, () => fn({ catalog, records }));
        // An append `fn` did not wait for must be durable before the catalog may name its record.
        await records.settled();
        if (options.signal?.aborted && !options.rollback) throw cancelled('the write was cancelled; nothing of it was committed');
      } catch (e) {
        await catalog.rollback();
        await records.discard();
        throw e;
      }
      if (options.rollback) {
        await catalog.rollback();
        await records.discard();
      } else {
        await catalog.commit((db) => records.disown(db));
      }
      return result;
    } finally {
      // Ending the session releases the advisory lock (also when the connection is already lost).
      await endClient(client);
    }
  }

  async stats(): Promise<BackendStats> {
    const r = await this.records.stats();
    return { kind: this.kind, location: this.location, records: r.records, recordBytes: r.bytes, catalogBytes: await this.catalog.diskBytes() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/** `create` on a server without the database: made through the server's `postgres` maintenance database. */
async function createDatabase(url: string, timeouts: PgTimeouts, location: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1));
  u.pathname = '/postgres';
  const admin = await connectClient(u.toString(), timeouts, false, location);
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
      if (e.code !== '42P04') throw pgError(e, location, 'cannot create the database at'); // 42P04: created meanwhile
    });
  } finally {
    await endClient(admin);
  }
}
