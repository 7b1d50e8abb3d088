/**
 * Connections to the PostgreSQL server of a store, and its errors as one-line `NeurStoreError`s. Every
 * connection carries timeouts, so that a dead server, a lost network or a stuck lock fails a call instead of
 * hanging it; every message shows the URL without its password.
 */
import pg from 'pg';
import { NeurStoreError, conflict, isNeurStoreError } from '../../errors.js';

export interface PgTimeouts {
  /** Connecting (and waiting for a free pooled connection). */
  readonly connectMs: number;
  /** One statement (a page COPY of a large record included). */
  readonly statementMs: number;
  /** Waiting for the store's write lock (another process's gc, or puts while gc runs). */
  readonly lockMs: number;
}

export const DEFAULT_TIMEOUTS: PgTimeouts = { connectMs: 10_000, statementMs: 300_000, lockMs: 60_000 };

/** The store's tables live in this schema of the database (so they cannot clash with an application's tables). */
export const PG_SCHEMA = 'neurstore';

/** `url` without its password, for messages and `Backend.location`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1@');
  }
}

/** Settings of every connection: the store's schema first on the search path, timeouts, read-only when asked. */
export function clientConfig(url: string, t: PgTimeouts, readOnly: boolean): pg.ClientConfig {
  const options = [`-c search_path=${PG_SCHEMA}`, `-c statement_timeout=${t.statementMs}`, `-c lock_timeout=${t.lockMs}`];
  if (readOnly) options.push('-c default_transaction_read_only=on');
  return {
    connectionString: url, connectionTimeoutMillis: t.connectMs, keepAlive: true, application_name: 'neurstore',
    options: options.join(' '),
  };
}

/**
 * The pool of reads and appends. Connecting is bounded (`connectMs`, per connection); waiting for a free
 * connection is not (pg-pool would bound both with one setting): a put that starts a hundred appends at once
 * must queue, and every statement ahead of it in the queue is bounded by `statementMs`.
 */
export function newPool(url: string, t: PgTimeouts, readOnly: boolean, max: number): pg.Pool {
  const { connectionTimeoutMillis, ...config } = clientConfig(url, t, readOnly);
  class TimedClient extends pg.Client {
    constructor(c: pg.ClientConfig) {
      super({ ...c, connectionTimeoutMillis });
    }
  }
  const pool = new pg.Pool({ ...config, Client: TimedClient as unknown as pg.PoolConfig['Client'], max, idleTimeoutMillis: 10_000 });
  // An idle connection that drops (server restarted) is discarded by the pool; without a listener it would
  // crash the process. The next query connects again.
  pool.on('error', () => undefined);
  return pool;
}

/** A fresh connection outside the pool (its session holds the store's write lock), with errors mapped. */
export async function connectClient(url: string, t: PgTimeouts, readOnly: boolean, location: string): Promise<pg.Client> {
  const client = new pg.Client(clientConfig(url, t, readOnly));
  client.on('error', () => undefined); // reported by the query that meets it
  try {
    await client.connect();
  } catch (e) {
    await endClient(client);
    throw pgError(e, location, 'cannot connect to');
  }
  return client;
}

/** Ends a client; bounded, since `end()` on a connection the server already dropped may never resolve. */
export async function endClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => undefined),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, 5_000); timer.unref(); }),
  ]);
  clearTimeout(timer);
}

const LOST = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03', '08000', '08003', '08006']);

/** A client from `pool`; failing to get one is a one-line IO_ERROR naming `location` (see pgError). */
export async function poolClient(pool: pg.Pool, location: string): Promise<pg.PoolClient> {
  try {
    return await pool.connect();
  } catch (e) {
    throw pgError(e, location, 'cannot connect to');
  }
}

/**
 * A driver or server error as a one-line NeurStoreError: cannot connect / authenticate / lost the connection /
 * timed out are IO_ERROR (exit 7), a missing database NOT_FOUND, a taken name or a lock conflict CONFLICT.
 */
export function pgError(e: unknown, location: string, what: string): NeurStoreError {
  if (isNeurStoreError(e)) return e;
  const err = e as Error & { code?: string };
  const code = err.code ?? '';
  const detail = (err.message || String(e)).split('\n')[0];
  const io = (m: string): NeurStoreError => new NeurStoreError('IO_ERROR', m, { cause: e });
  if (code === 'ECONNREFUSED') return io(`cannot connect to PostgreSQL at ${location}: connection refused (is the server running and listening there?)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return io(`cannot connect to PostgreSQL at ${location}: host not found`);
  if (code === '28P01' || code === '28000') return io(`cannot connect to PostgreSQL at ${location}: ${detail}`);
  if (code === '3D000') {
    return new NeurStoreError('NOT_FOUND', `PostgreSQL at ${location}: ${detail}; create it (createdb, or \`neurstore init ${location}\`)`, { cause: e });
  }
  if (code === '23505') return conflict(`${what} ${location}: ${detail}`);
  if (code === '55P03') return conflict(`another process holds the write lock of the store at ${location} (a gc, or puts while gc waits); try again`);
  if (code === '40P01' || code === '40001') return conflict(`${what} ${location}: ${detail}; try again`);
  if (code === '57014') return io(`${what} ${location}: the statement timed out (${detail})`);
  if (code === '25006') return conflict(`the store at ${location} is open read-only`);
  if (LOST.has(code) || /Connection terminated|connection timeout|not queryable/i.test(detail)) {
    return io(`${what} ${location}: lost the connection to PostgreSQL (${detail})`);
  }
  return io(`${what} ${location}: ${detail}`);
}
