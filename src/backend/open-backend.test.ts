/** openBackend picks the backend by location: a directory is the embedded store, a postgres:// URL PostgreSQL. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { isDatabaseUrl, openBackend } from './open-backend.js';

test('a directory opens the embedded backend; none there is NOT_FOUND unless created', async () => {
  const dir = join(tempDir(), 'store');
  await assert.rejects(openBackend(dir), (e) => isNeurStoreError(e, 'NOT_FOUND') && e.message.includes(dir));
  const b = await openBackend(dir, { create: true });
  assert.equal(b.kind, 'sqlite');
  assert.equal(b.location, dir);
  await b.close();
});

test('a postgres:// or postgresql:// URL goes to the PostgreSQL backend (a refused connection is IO_ERROR)', async () => {
  assert.ok(isDatabaseUrl('postgres://u@h/db') && isDatabaseUrl('postgresql://h/db') && !isDatabaseUrl('/var/postgres://x'));
  await assert.rejects(openBackend('postgresql://127.0.0.1:1/none', { readOnly: true }), (e) => isNeurStoreError(e, 'IO_ERROR'));
});
