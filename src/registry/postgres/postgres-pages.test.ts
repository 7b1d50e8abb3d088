/**
 * Hub bytes in PostgreSQL pages: blobs (zstd, paged) and LFS uploads in flight, against their original bytes
 * (the oracle), with small pages so that every case spans several: whole and ranged reads byte-exact (ranges across
 * page boundaries), a blob written by hub schema version 1 (bytes inline) still read, a flipped byte in a page is
 * CORRUPTION naming the blob, a schema migrated from version 1; uploads: a body with the wrong sha256 or size is
 * refused and leaves no page, the same object put by two servers at once is kept once, copyTo gives the bytes, the
 * sweep drops what an interrupted PUT left (idle) and objects no commit took (old), nothing newer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { compress } from 'zstd-napi';
import { DEFAULT_TIMEOUTS, newPool } from '../../backend/postgres/postgres-connect.js';
import { pgFixture } from '../../backend/postgres/testing/pg-fixture.js';
import { isNeurStoreError } from '../../errors.js';
import { tempDir } from '../../store/testing/temp-dir.js';
import { Registry } from '../registry.js';
import { PostgresBlobs } from './postgres-blobs.js';
import { PostgresUploads } from './postgres-uploads.js';

const fx = await pgFixture('src/registry/postgres/postgres-pages.test.ts');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const PAGE = 4096;

/** Seeded bytes, half of them compressible, so compressed blobs still span several pages. */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = i % 64 < 32 ? x & 0xff : i & 7;
  }
  return out;
}

async function readAll(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A store with the hub tables (Registry.open creates them) and blobs/uploads with PAGE-byte pages. */
async function open(): Promise<{ url: string; blobs: PostgresBlobs; uploads: PostgresUploads; close: () => Promise<void> }> {
  const url = await fx!.freshUrl();
  await (await Registry.open(url, { create: true, decodeWorkers: 0 })).close();
  const pool = newPool(url, DEFAULT_TIMEOUTS, false, 4);
  return { url, blobs: new PostgresBlobs(pool, 'test', PAGE), uploads: new PostgresUploads(pool, 'test', PAGE), close: () => pool.end() };
}

if (fx) {
  test('hub blobs in pages: byte-exact whole and in ranges, version 1 rows read, a damaged page is CORRUPTION', async () => {
    const { url, blobs, close } = await open();
    try {
      const big = bytes(100_000, 3);
      const id = sha(big);
      const { storedBytes } = await blobs.put(id, big.length, () => Readable.from([big.subarray(0, 7), big.subarray(7)]));
      const pages = Number((await fx.sql(url, 'SELECT pages FROM neurstore.hub_blobs WHERE sha256 = $1', [id])).rows[0].pages);
      assert.ok(pages >= 3, `spans ${pages} pages`);
      assert.equal(storedBytes, Number((await fx.sql(url, 'SELECT sum(length(data))::int AS n FROM neurstore.hub_blob_pages WHERE sha256 = $1', [id])).rows[0].n));
      assert.deepEqual(await blobs.put(id, big.length, () => Readable.from([big])), { storedBytes: 0 }, 'stored once');
      assert.ok((await blobs.bytes(id)).equals(big));
      for (const [start, end] of [[0, 0], [4095, 4096], [5000, 60_000], [99_999, 99_999], [0, 99_999]] as const) {
        assert.ok((await readAll(await blobs.open(id, { start, end }))).equals(big.subarray(start, end + 1)), `range ${start}-${end}`);
      }
      const empty = Buffer.alloc(0);
      await blobs.put(sha(empty), 0, () => Readable.from([empty]));
      assert.equal((await blobs.bytes(sha(empty))).length, 0);

      await assert.rejects(blobs.put(sha(Buffer.from('x')), 1, () => Readable.from([Buffer.from('y')])), (e) => isNeurStoreError(e, 'CONFLICT'));
      assert.equal(await blobs.has(sha(Buffer.from('x'))), false, 'a put whose bytes do not hash to the sha256 keeps nothing');

      // A row as hub schema version 1 wrote it: the compressed bytes inline, pages = 0.
      const old = Buffer.from('{"written":"by version 1"}');
      const z = compress(old);
      await fx.sql(url, 'INSERT INTO neurstore.hub_blobs (sha256, size, stored_crc, data) VALUES ($1, $2, $3, $4)', [sha(old), old.length, crc32(z), z]);
      assert.ok((await blobs.bytes(sha(old))).equals(old));
      assert.ok((await readAll(await blobs.open(sha(old), { start: 2, end: 5 }))).equals(old.subarray(2, 6)));

      await fx.sql(url, 'UPDATE neurstore.hub_blob_pages SET data = set_byte(data, 10, get_byte(data, 10) # 1) WHERE sha256 = $1 AND page = 1', [id]);
      await assert.rejects(blobs.bytes(id), (e) => isNeurStoreError(e, 'CORRUPTION') && e.message.includes(id) && /page 1/.test(e.message));
      // The connection of a read stopped by damage was dropped, not reused mid-COPY: reads go on working.
      assert.ok((await blobs.bytes(sha(old))).equals(old));
    } finally {
      await close();
    }
  });

  test('uploads in flight in pages: checked on the way in, kept once, copied out byte-exact, swept by age', async () => {
    const { url, uploads, close } = await open();
    const count = async (table: string): Promise<number> => Number((await fx.sql(url, `SELECT count(*)::int AS n FROM neurstore.${table}`)).rows[0].n);
    try {
      const body = bytes(50_000, 5);
      const oid = sha(body);
      await assert.rejects(uploads.put(oid, body.length, Readable.from([body.subarray(0, 49_999), Buffer.from([body[49_999]! ^ 1])])), /sha256/);
      await assert.rejects(uploads.put(oid, body.length - 1, Readable.from([body])), /longer/);
      await assert.rejects(uploads.put(oid, body.length + 1, Readable.from([body])), /has 50000 bytes/);
      assert.equal(await uploads.has(oid), false);
      assert.equal(await count('hub_upload_pages'), 0, 'a refused body leaves no page');

      // Two servers taking the same object at once: one object, no stray pages.
      const chunks = (): Readable => Readable.from([body.subarray(0, 10_000), body.subarray(10_000, 30_000), body.subarray(30_000)]);
      await Promise.all([uploads.put(oid, body.length, chunks()), uploads.put(oid, body.length, chunks())]);
      assert.equal(await uploads.has(oid), true);
      assert.equal(await count('hub_uploads'), 1);
      assert.equal(await count('hub_upload_pages'), Math.ceil(body.length / PAGE));
      const dest = join(tempDir(), 'copy');
      assert.equal(await uploads.copyTo(oid, dest), true);
      assert.ok(readFileSync(dest).equals(body));
      assert.equal(await uploads.copyTo('0'.repeat(64), join(tempDir(), 'none')), false);

      // Sweep: an interrupted PUT's pages idle for long, an object no commit took for long; a fresh one stays.
      await fx.sql(url, `INSERT INTO neurstore.hub_upload_pages VALUES ('${'a'.repeat(32)}', 0, 0, ''::bytea, $1)`, [Date.now() - 2 * 3600_000]);
      const other = bytes(1000, 9);
      await uploads.put(sha(other), other.length, Readable.from([other]));
      await fx.sql(url, 'UPDATE neurstore.hub_uploads SET created_ms = $2 WHERE oid = $1', [sha(other), Date.now() - 2 * 86_400_000]);
      assert.equal(await uploads.sweep(), 2);
      assert.equal(await uploads.has(sha(other)), false);
      assert.equal(await uploads.has(oid), true, 'a recent object stays');
      assert.equal(await count('hub_upload_pages'), Math.ceil(body.length / PAGE));

      await uploads.remove(oid);
      assert.equal(await count('hub_uploads'), 0);
      assert.equal(await count('hub_upload_pages'), 0);
    } finally {
      await close();
    }
  });

  test('hub schema version 1 migrates to 2 (blob pages, uploads in flight)', async () => {
    const url = await fx.freshUrl();
    await (await Registry.open(url, { create: true, decodeWorkers: 0 })).close();
    await fx.sql(url, `DROP TABLE neurstore.hub_blob_pages, neurstore.hub_uploads, neurstore.hub_upload_pages;
      ALTER TABLE neurstore.hub_blobs DROP COLUMN pages; UPDATE neurstore.meta SET value = '1' WHERE key = 'hub_schema_version'`);
    const reg = await Registry.open(url, { decodeWorkers: 0 });
    try {
      assert.equal((await fx.sql(url, `SELECT value FROM neurstore.meta WHERE key = 'hub_schema_version'`)).rows[0].value, '2');
      const b = bytes(20_000, 1);
      await reg.blobs.put(sha(b), b.length, () => Readable.from([b]));
      assert.ok((await reg.blobs.bytes(sha(b))).equals(b));
      await reg.uploads.put(sha(b), b.length, Readable.from([b]));
      assert.equal(await reg.uploads.has(sha(b)), true);
    } finally {
      await reg.close();
    }
  });
}
