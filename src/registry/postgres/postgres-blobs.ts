/**
 * Hub blobs (the files of a repository that are not models) in a PostgreSQL store, streamed both ways: a row of
 * `hub_blobs` (size, CRC-32 of the compressed bytes, page count) and the zstd-compressed bytes in pages of
 * `hub_blob_pages` (postgres-pages.ts: 4 MiB, each with its CRC-32, read by binary COPY). A put compresses and
 * pages the source as it reads it, in one transaction that first inserts the row (a second server putting the same
 * blob waits for the first to commit, then writes nothing), and commits only when the bytes hashed to the sha256;
 * a read decompresses page by page. Memory per call: a page or two, whatever the blob's size.
 * Rows of hub schema version 1 (pages = 0) hold the compressed bytes in `hub_blobs.data`, and are read whole.
 */
import { crc32 } from 'node:zlib';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { CompressStream, DecompressStream, decompress } from 'zstd-napi';
import { NeurStoreError, invalidArgument } from '../../errors.js';
import { pgError, poolClient } from '../../backend/postgres/postgres-connect.js';
import { IdentityHasher, piped, rangeSlice, type ByteRange } from '../durable-files.js';
import type { RegistryBlobs } from '../registry-store.js';
import { Paginator, readPages } from './postgres-pages.js';

type Raw = Record<string, unknown>;

export class PostgresBlobs implements RegistryBlobs {
  constructor(private readonly pool: pg.Pool, readonly location: string, private readonly pageBytes?: number) {}

  private check(sha256: string): void {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw invalidArgument(`'${sha256}' is not a sha256`);
  }

  private damaged(sha256: string, problem: string): NeurStoreError {
    return new NeurStoreError('CORRUPTION', `hub of ${this.location}: blob ${sha256} ${problem} (the database was damaged)`);
  }

  async has(sha256: string): Promise<boolean> {
    this.check(sha256);
    try {
      return (await this.pool.query('SELECT 1 FROM hub_blobs WHERE sha256 = $1', [sha256])).rows.length > 0;
    } catch (e) {
      throw pgError(e, this.location, 'read from the hub in');
    }
  }

  async put(sha256: string, size: number, source: () => Readable): Promise<{ storedBytes: number }> {
    if (await this.has(sha256)) return { storedBytes: 0 };
    const client = await poolClient(this.pool, this.location);
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL statement_timeout = 0');
      const r = await client.query('INSERT INTO hub_blobs (sha256, size, stored_crc, data, pages) VALUES ($1, $2, 0, $3, 0) ON CONFLICT DO NOTHING', [sha256, size, Buffer.alloc(0)]);
      if (!r.rowCount) {
        await client.query('COMMIT');
        return { storedBytes: 0 };
      }
      let crc = 0;
      let stored = 0;
      const pages = new Paginator(async (page, data) => {
        crc = crc32(data, crc);
        stored += data.length;
        await client.query('INSERT INTO hub_blob_pages (sha256, page, crc, data) VALUES ($1, $2, $3, $4)', [sha256, page, crc32(data), data]);
      }, this.pageBytes);
      const hasher = new IdentityHasher(size);
      const tap = new Transform({
        transform(chunk: Buffer, _e, done: TransformCallback) {
          hasher.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(source(), tap, new CompressStream({ compressionLevel: 6 }), async (compressed: AsyncIterable<Buffer>) => {
        for await (const c of compressed) await pages.push(c);
      });
      await pages.end();
      const got = hasher.digest().sha256;
      if (got !== sha256) throw new NeurStoreError('CONFLICT', `the file changed while it was stored (sha256 ${got}, expected ${sha256})`);
      await client.query('UPDATE hub_blobs SET stored_crc = $2, pages = $3 WHERE sha256 = $1', [sha256, crc, pages.pages]);
      await client.query('COMMIT');
      return { storedBytes: stored };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      throw pgError(e, this.location, 'write to the hub in');
    } finally {
      client.release(broken);
    }
  }

  async bytes(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.open(sha256)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    this.check(sha256);
    let rows: Raw[];
    try {
      rows = (await this.pool.query('SELECT size, stored_crc, pages, CASE WHEN pages = 0 THEN data END AS data FROM hub_blobs WHERE sha256 = $1', [sha256])).rows as Raw[];
    } catch (e) {
      throw pgError(e, this.location, 'read from the hub in');
    }
    const r = rows[0];
    if (!r) throw new NeurStoreError('CORRUPTION', `blob ${sha256} that a commit names is missing from the hub of ${this.location}`);
    const size = Number(r.size);
    const pages = Number(r.pages);
    const storedCrc = Number(r.stored_crc);
    let out: Readable;
    if (pages === 0) {
      // Written by hub schema version 1: the compressed bytes in one column.
      const data = r.data as Buffer;
      if (crc32(data) !== storedCrc) throw this.damaged(sha256, 'of table hub_blobs fails its checksum');
      const all = decompress(data);
      if (all.length !== size) throw this.damaged(sha256, `decodes to ${all.length} bytes, not ${size}`);
      out = Readable.from([all]);
      return range ? piped(out, rangeSlice(range)) : out;
    }
    const compressed = Readable.from(this.pages(sha256, pages, storedCrc), { objectMode: false });
    let seen = 0;
    const damaged = (n: number) => this.damaged(sha256, `decodes to ${n} bytes, not ${size}`);
    const count = new Transform({
      transform(chunk: Buffer, _e, done: TransformCallback) {
        seen += chunk.length;
        if (seen > size) return done(damaged(seen));
        done(null, chunk);
      },
      flush(done: TransformCallback) {
        done(seen === size ? null : damaged(seen));
      },
    });
    return range ? piped(compressed, new DecompressStream(), count, rangeSlice(range)) : piped(compressed, new DecompressStream(), count);
  }

  /** The blob's compressed pages, one held at a time, on a connection of its own released when they end or stop. */
  private async *pages(sha256: string, pages: number, storedCrc: number): AsyncGenerator<Buffer> {
    const client = await poolClient(this.pool, this.location);
    let complete = false;
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL statement_timeout = 0'); // a slow reader holds the COPY back
      let crc = 0;
      // sha256 is checked hex: safe as a literal (COPY takes no parameters).
      for await (const page of readPages(client, `SELECT page, crc, data FROM hub_blob_pages WHERE sha256 = '${sha256}' ORDER BY page`, `hub of ${this.location}: blob ${sha256} in hub_blob_pages`, pages)) {
        crc = crc32(page, crc);
        yield page;
      }
      if (crc !== storedCrc) throw this.damaged(sha256, 'fails its checksum');
      await client.query('COMMIT');
      complete = true;
    } catch (e) {
      throw pgError(e, this.location, 'read from the hub in');
    } finally {
      // Stopped early (an error, or the reader went away): the COPY may still be running; drop the connection.
      client.release(!complete);
    }
  }
}
