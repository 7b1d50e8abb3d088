/**
 * LFS uploads in flight beside a directory store (`DirectoryUploads`): a body is checked against its sha256 and
 * size on the way in (nothing kept otherwise), two instances over one directory (two servers on one store) see
 * each other's objects, copyTo gives the bytes, and the sweep drops objects and temporaries by age only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from '../store/testing/temp-dir.js';
import { DirectoryUploads } from './uploads.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('directory uploads: checked, shared by two servers on one directory, copied out, swept by age', async () => {
  const dir = join(tempDir(), 'uploads');
  const a = new DirectoryUploads(dir);
  const b = new DirectoryUploads(dir);
  const body = Buffer.from('weights '.repeat(10_000));
  const oid = sha(body);
  await assert.rejects(a.put(oid, body.length, Readable.from([Buffer.from('other')])), /has 5 bytes/);
  await assert.rejects(a.put(sha(Buffer.from('x')), 1, Readable.from([Buffer.from('y')])), /sha256/);
  assert.deepEqual(readdirSync(dir), [], 'a refused body leaves nothing');
  await a.put(oid, body.length, Readable.from([body.subarray(0, 100), body.subarray(100)]));
  assert.equal(await b.has(oid), true, 'the other server sees it');
  const dest = join(tempDir(), 'copy');
  assert.equal(await b.copyTo(oid, dest), true);
  assert.ok(readFileSync(dest).equals(body));
  assert.equal(await b.copyTo('0'.repeat(64), join(tempDir(), 'none')), false);

  const old = Buffer.from('old');
  await a.put(sha(old), old.length, Readable.from([old]));
  const twoDaysAgo = (Date.now() - 2 * 86_400_000) / 1000;
  utimesSync(join(dir, sha(old)), twoDaysAgo, twoDaysAgo);
  writeFileSync(join(dir, `${oid}.123.abcd.tmp`), 'partial');
  utimesSync(join(dir, `${oid}.123.abcd.tmp`), twoDaysAgo, twoDaysAgo);
  writeFileSync(join(dir, `${oid}.124.abcd.tmp`), 'in progress');
  assert.equal(await b.sweep(), 2);
  assert.deepEqual(readdirSync(dir).sort(), [oid, `${oid}.124.abcd.tmp`]);
  await b.remove(oid);
  assert.equal(await a.has(oid), false);
});
