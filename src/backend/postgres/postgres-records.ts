/**
 * Records in PostgreSQL: a `records` row (length, CRC-32 of the payload, page count) and the payload in
 * `record_pages`, `PAGE_BYTES` a page (see postgres-schema.ts).
 *
 * Reads: one `COPY (SELECT ... JOIN ...) TO STDOUT (FORMAT binary)` per record, so the row and its pages come
 * from one snapshot (a gc between two statements cannot look like damage), in binary (the text/hex bytea path
 * reads at 40-64 MB/s here against 85-144 MB/s; node-postgres' `binary: true` returns corrupt bytea),
 * assembled as it arrives (postgres-page-reader.ts). The payload is checked against its length, page count
 * and CRC: a mismatch is CORRUPTION naming `record_pages key <hex>`, never wrong bytes.
 *
 * Writes: each `append` is its own short transaction (the first phase of the write protocol in
 * postgres-backend.ts): `INSERT ... ON CONFLICT` on the record row, then its pages only when the row was
 * inserted. A transaction locks one record key only, so concurrent writers cannot deadlock on key order, and a
 * second writer of the same key waits for the first to commit and then writes nothing.
 *
 * Ownership: a record's row names the write that appended it (`owner`) until that write commits, so a write
 * that throws or rolls back deletes exactly its own records. Another write must therefore not use such a
 * record without claiming it: `has` does not see records other open writes own (the write a call runs in is
 * known through `currentWrite`), so the content layer appends instead, and an append that finds a record
 * another write owns clears `owner` (a claim: it will name the record too). The claim and the owner's delete
 * both lock the row, so one comes first, never both. Records of a killed writer keep their owner, stay unseen
 * by `has` until claimed, and are reclaimed by gc.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { NeurStoreError, notFound } from '../../errors.js';
import type { Damage, RecordStore, RecordWriter } from '../backend.js';
import { pgError, poolClient } from './postgres-connect.js';
import { PageReader } from './postgres-page-reader.js';
import { fromSqlKey, toSqlKey } from './postgres-schema.js';

/**
 * Bytes per page. Measured (`npm run bench:backend -- --pages 1,4,8`, 256 MiB of 8 MiB + 64 B records, 2 shared
 * cores, three runs): put/get 70-118 / 166-344 MB/s with 1 MiB pages, 83-152 / 215-430 with 4, 78-120 /
 * 218-390 with 8; 16 MiB pages read at 45 in the one (noisier) run that tried them. 4 MiB: as fast as 8 or
 * faster, with half the memory per page.
 */
export const PAGE_BYTES = 4 * 1024 * 1024;
/** Keys per DELETE while reclaiming. */
const RECLAIM_BATCH = 1000;

export const keyHex = (key: bigint): string => key.toString(16).padStart(16, '0');

/** The writer of the `Backend.write` a call runs in (set by the backend around `fn`). */
export const currentWrite = new AsyncLocalStorage<PostgresRecordWriter>();

export class PostgresRecords implements RecordStore {
  private readonly found: Damage[] = [];

  constructor(private readonly pool: pg.Pool, private readonly location: string, private readonly pageBytes = PAGE_BYTES) {}

  /** True for committed records, except those another open write appended and has not named yet (see above). */
  async has(key: bigint): Promise<boolean> {
    const r = await this.query('read', 'SELECT owner FROM records WHERE key = $1', [toSqlKey(key)]);
    if (r.rows.length === 0) return false;
    const owner = r.rows[0].owner as string | null;
    return owner === null || owner === currentWrite.getStore()?.owner;
  }

  async get(key: bigint): Promise<Uint8Array> {
    const client = await this.connect();
    const reader = new PageReader();
    let broken: unknown;
    try {
      // The key is an int8 we render ourselves: safe as a literal (COPY takes no parameters).
      const stream = client.query(copyTo(`COPY (SELECT r.length, r.crc, r.pages, p.page, p.data FROM records r
        LEFT JOIN record_pages p ON p.key = r.key WHERE r.key = ${toSqlKey(key)} ORDER BY p.page) TO STDOUT (FORMAT binary)`));
      for await (const chunk of stream) reader.push(chunk as Buffer);
    } catch (e) {
      broken = e;
      throw pgError(e, this.location, 'cannot read a record from');
    } finally {
      client.release(broken as Error | undefined);
    }
    const r = reader.finish();
    if (r === null) throw notFound(`no record ${keyHex(key)} in ${this.location}`);
    if ('payload' in r) return r.payload;
    const message = `${this.location} record_pages key ${keyHex(key)}: ${r.problem}`;
    if (!this.found.some((d) => d.message === message)) this.found.push({ file: `record_pages:${keyHex(key)}`, offset: 0, length: 0, message });
    throw new NeurStoreError('CORRUPTION', message);
  }

  async readPrefix(key: bigint, length: number): Promise<Uint8Array> {
    const parts: Buffer[] = [];
    let got = 0;
    for (let page = 0; got < length; page++) {
      const r = await this.query('read', 'SELECT substring(data from 1 for $3) AS d FROM record_pages WHERE key = $1 AND page = $2',
        [toSqlKey(key), page, length - got]);
      if (r.rows.length === 0) break;
      const d = r.rows[0].d as Buffer;
      parts.push(d);
      got += d.length;
    }
    if (parts.length === 0 && !(await this.has(key))) throw notFound(`no record ${keyHex(key)} in ${this.location}`);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async damaged(): Promise<readonly Damage[]> {
    return [...this.found];
  }

  /** Every statement sees what was committed before it: nothing to catch up with. */
  async refresh(): Promise<void> {}

  /**
   * Records and their payload bytes. Not the tables' size on disk (pg_total_relation_size): after gc, PostgreSQL
   * keeps freed space for reuse rather than returning it, and only VACUUM FULL (which locks readers out) shrinks it.
   */
  async stats(): Promise<{ records: number; bytes: number }> {
    const r = await this.query('read', 'SELECT count(*) AS n, COALESCE(SUM(length), 0) AS b FROM records');
    return { records: Number(r.rows[0].n), bytes: Number(r.rows[0].b) };
  }

  /**
   * A writer for one `Backend.write`. `lock` is the session holding the write lock when it is held alone (gc),
   * else undefined: only then may records be reclaimed, and the deletes run on that session (see `reclaim`).
   */
  writer(lock: pg.Client | undefined): PostgresRecordWriter {
    return new PostgresRecordWriter(this.pool, this.location, this.pageBytes, lock);
  }

  private connect(): Promise<pg.PoolClient> {
    return poolClient(this.pool, this.location);
  }

  private async query(what: string, sql: string, params?: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(sql, params);
    } catch (e) {
      throw pgError(e, this.location, `cannot ${what}`);
    }
  }
}

/** Splits `parts` into pages of `size` bytes (views where a page lies within one part, one copy where it spans). */
function paginate(parts: readonly Uint8Array[], size: number): Buffer[] {
  const pages: Buffer[] = [];
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for (const p of parts) {
    let b = Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    while (b.length) {
      const take = Math.min(size - pendingBytes, b.length);
      pending.push(b.subarray(0, take));
      pendingBytes += take;
      b = b.subarray(take);
      if (pendingBytes === size) {
        pages.push(pending.length === 1 ? pending[0]! : Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes || pages.length === 0) pages.push(Buffer.concat(pending));
  return pages;
}

export class PostgresRecordWriter implements RecordWriter {
  /** Appends started and not yet settled: the catalog commit waits for them (records durable before named). */
  private readonly pending = new Set<Promise<boolean>>();
  /** This write's id in `records.owner` (random: writes of other processes must not collide). */
  readonly owner = randomBytes(8).readBigInt64BE().toString();
  /** Keys this write inserted. */
  private readonly mine: string[] = [];

  constructor(private readonly pool: pg.Pool, private readonly location: string, private readonly pageBytes: number,
    private readonly lock: pg.Client | undefined) {}

  append(key: bigint, payload: Uint8Array | readonly Uint8Array[]): Promise<boolean> {
    const p = this.insert(key, payload instanceof Uint8Array ? [payload] : payload);
    this.pending.add(p);
    const done = (): void => { this.pending.delete(p); };
    p.then(done, done);
    return p;
  }

  /** Waits for every append started so far; rejects with the first failure. */
  async settled(): Promise<void> {
    const results = await Promise.allSettled([...this.pending]);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  /** Run in the catalog transaction that commits the write: its records are no longer its own to drop. */
  async disown(db: Pick<pg.ClientBase, 'query'>): Promise<void> {
    if (this.mine.length) await db.query('UPDATE records SET owner = NULL WHERE key = ANY($1::int8[]) AND owner = $2', [this.mine, this.owner]);
  }

  /** After a throw or rollback: deletes the records this write appended that no other write claimed (best effort: gc catches the rest). */
  async discard(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    if (!this.mine.length) return;
    const client = await this.pool.connect().catch(() => undefined);
    if (!client) return;
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const gone = await client.query('DELETE FROM records WHERE key = ANY($1::int8[]) AND owner = $2 RETURNING key', [this.mine, this.owner]);
      await client.query('DELETE FROM record_pages WHERE key = ANY($1::int8[])', [gone.rows.map((r) => r.key as string)]);
      await client.query('COMMIT');
    } catch (e) {
      broken = e as Error;
    } finally {
      client.release(broken);
    }
  }

  private async insert(key: bigint, parts: readonly Uint8Array[]): Promise<boolean> {
    let crc = 0;
    let length = 0;
    for (const p of parts) {
      if (p.length === 0) continue; // node:zlib's crc32 of an empty view may return 0 (record-format.ts)
      crc = crc32(p, crc);
      length += p.length;
    }
    const pages = paginate(parts, this.pageBytes);
    const k = toSqlKey(key);
    let client: pg.PoolClient | undefined;
    let broken: unknown;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      // Inserted: xmax = 0. Found and owned by another open write: claimed (owner cleared), not inserted.
      // Found otherwise: no row returned.
      const r = await client.query(`INSERT INTO records AS r (key, length, crc, pages, owner) VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (key) DO UPDATE SET owner = NULL WHERE r.owner IS NOT NULL AND r.owner <> $5 RETURNING (xmax = 0) AS inserted`,
      [k, length, crc, pages.length, this.owner]);
      if (r.rows[0]?.inserted !== true) {
        await client.query('COMMIT');
        return false;
      }
      for (let i = 0; i < pages.length; i++) {
        await client.query('INSERT INTO record_pages (key, page, data) VALUES ($1, $2, $3)', [k, i, pages[i]]);
      }
      await client.query('COMMIT');
      this.mine.push(k);
      return true;
    } catch (e) {
      broken = e;
      throw pgError(e, this.location, `cannot append record ${keyHex(key)} to`);
    } finally {
      // A connection that failed mid-transaction is dropped rather than reused (the server rolls it back).
      client?.release(broken as Error | undefined);
    }
  }

  /**
   * The deletes run on the session holding the lock exclusively, each batch one statement: should that session
   * die (and its lock go, letting a writer in that may find a record this gc meant to drop), no delete follows.
   */
  async reclaim(isLive: (key: bigint) => boolean): Promise<{ recordsDropped: number; bytesReclaimed: number }> {
    const lock = this.lock;
    if (!lock) throw new NeurStoreError('CONFLICT', 'records are reclaimed only in an exclusive write (gc)');
    let recordsDropped = 0;
    let bytesReclaimed = 0;
    try {
      // Live records are not read: nothing moves them (the store's gc reads each live record whole anyway).
      const all = await lock.query('SELECT key, length FROM records');
      const dead = all.rows.filter((r) => !isLive(fromSqlKey(r.key as string)));
      for (let i = 0; i < dead.length; i += RECLAIM_BATCH) {
        const batch = dead.slice(i, i + RECLAIM_BATCH);
        await lock.query(`WITH gone AS (DELETE FROM records WHERE key = ANY($1::int8[]) RETURNING key)
          DELETE FROM record_pages WHERE key IN (SELECT key FROM gone)`, [batch.map((r) => r.key as string)]);
        recordsDropped += batch.length;
        for (const r of batch) bytesReclaimed += Number(r.length);
      }
      // Pages whose record row is gone (none unless a row was deleted by hand) hold nothing readable.
      await lock.query('DELETE FROM record_pages p WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.key = p.key)');
      // Makes the freed pages reusable and returns trailing ones to the file system; never blocks readers or
      // writers (VACUUM cannot run in a transaction block, which the write's session may be in: the pool runs it).
      if (recordsDropped) await this.pool.query('VACUUM records, record_pages');
    } catch (e) {
      throw pgError(e, this.location, 'cannot reclaim records in');
    }
    return { recordsDropped, bytesReclaimed };
  }
}
