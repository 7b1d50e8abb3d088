/**
 * LFS uploads in flight in a PostgreSQL store (see ../uploads.ts), so that every server over the database sees
 * an object one of them received: a PUT streams its body into `hub_upload_pages` under a random attempt id, one
 * 4 MiB page per statement (no transaction held open while the client sends), hashing as it goes; when the bytes
 * hash to the object's sha256 and count its size, one INSERT into `hub_uploads` (oid -> attempt) makes it visible.
 * A failed PUT deletes its pages; pages of a PUT that died (its server killed) are swept once idle for an hour,
 * and objects no commit took after a day. A commit copies the object to its local staging area by binary COPY,
 * each page checked against its CRC-32, in one snapshot with the row naming it.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { crc32 } from 'node:zlib';
import { pgError, poolClient } from '../../backend/postgres/postgres-connect.js';
import { badRequest } from '../hub-names.js';
import { PARTIAL_UPLOAD_MAX_IDLE_MS, UPLOAD_MAX_AGE_MS, checkedBody, sweeper, type RegistryUploads } from '../uploads.js';
import { Paginator, readPages } from './postgres-pages.js';

const OID = /^[0-9a-f]{64}$/;
const ATTEMPT = /^[0-9a-f]{32}$/;

export class PostgresUploads implements RegistryUploads {
  private readonly maybeSweep = sweeper(this);

  constructor(private readonly pool: pg.Pool, readonly location: string, private readonly pageBytes?: number) {}

  private check(oid: string): void {
    if (!OID.test(oid)) throw badRequest(`'${oid}' is not a sha256`);
  }

  private async query(sql: string, args: unknown[], what = 'write to the hub in'): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(sql, args);
    } catch (e) {
      throw pgError(e, this.location, what);
    }
  }

  async has(oid: string): Promise<boolean> {
    this.check(oid);
    return (await this.query('SELECT 1 FROM hub_uploads WHERE oid = $1', [oid], 'read from the hub in')).rows.length > 0;
  }

  async put(oid: string, size: number, body: Readable): Promise<void> {
    this.maybeSweep();
    if (await this.has(oid)) {
      body.resume();
      return;
    }
    const attempt = randomBytes(16).toString('hex');
    const pages = new Paginator(async (page, data) => {
      await this.query('INSERT INTO hub_upload_pages (attempt, page, crc, data, created_ms) VALUES ($1, $2, $3, $4, $5)', [attempt, page, crc32(data), data, Date.now()]);
    }, this.pageBytes);
    const { tap, finish } = checkedBody(oid, size);
    try {
      await pipeline(body, tap, async (bytes: AsyncIterable<Buffer>) => {
        for await (const c of bytes) await pages.push(c);
      });
      finish();
      await pages.end();
      const r = await this.query('INSERT INTO hub_uploads (oid, attempt, size, pages, created_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
        [oid, attempt, size, pages.pages, Date.now()]);
      if (!r.rowCount) await this.dropAttempt(attempt); // another server took the same object meanwhile
    } catch (e) {
      await this.dropAttempt(attempt).catch(() => undefined);
      throw e;
    }
  }

  private async dropAttempt(attempt: string): Promise<void> {
    await this.query('DELETE FROM hub_upload_pages WHERE attempt = $1', [attempt]);
  }

  async copyTo(oid: string, dest: string): Promise<boolean> {
    this.check(oid);
    const client = await poolClient(this.pool, this.location);
    let complete = false;
    try {
      // One snapshot: the row and its pages, even if a commit on another server removes the object meanwhile.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await client.query('SET LOCAL statement_timeout = 0');
      const row = (await client.query('SELECT attempt, size, pages FROM hub_uploads WHERE oid = $1', [oid])).rows[0] as { attempt: string; pages: number } | undefined;
      if (!row) {
        await client.query('COMMIT');
        complete = true;
        return false;
      }
      if (!ATTEMPT.test(row.attempt)) throw badRequest(`upload ${oid} names a bad attempt id`);
      // attempt is checked hex: safe as a literal (COPY takes no parameters).
      const pages = readPages(client, `SELECT page, crc, data FROM hub_upload_pages WHERE attempt = '${row.attempt}' ORDER BY page`,
        `hub of ${this.location}: upload ${oid} in hub_upload_pages`, Number(row.pages));
      await pipeline(Readable.from(pages), createWriteStream(dest));
      await client.query('COMMIT');
      complete = true;
      return true;
    } catch (e) {
      throw pgError(e, this.location, 'read from the hub in');
    } finally {
      client.release(!complete);
    }
  }

  async remove(oid: string): Promise<void> {
    this.check(oid);
    await this.query('WITH gone AS (DELETE FROM hub_uploads WHERE oid = $1 RETURNING attempt) DELETE FROM hub_upload_pages WHERE attempt IN (SELECT attempt FROM gone)', [oid]);
  }

  async sweep(maxAgeMs = UPLOAD_MAX_AGE_MS, partialIdleMs = PARTIAL_UPLOAD_MAX_IDLE_MS): Promise<number> {
    const now = Date.now();
    const old = await this.query(`WITH gone AS (DELETE FROM hub_uploads WHERE created_ms < $1 RETURNING attempt),
      p AS (DELETE FROM hub_upload_pages WHERE attempt IN (SELECT attempt FROM gone)) SELECT count(*) AS n FROM gone`, [now - maxAgeMs]);
    const idle = await this.query(`DELETE FROM hub_upload_pages p WHERE p.attempt IN (SELECT attempt FROM hub_upload_pages GROUP BY attempt HAVING max(created_ms) < $1)
      AND NOT EXISTS (SELECT 1 FROM hub_uploads u WHERE u.attempt = p.attempt) RETURNING attempt`, [now - partialIdleMs]);
    return Number(old.rows[0]?.n ?? 0) + new Set(idle.rows.map((r) => r.attempt as string)).size;
  }
}
