/**
 * Schema of a PostgreSQL store: every table in the `neurstore` schema of one database, its version in `meta`.
 * Records are pages: `records` holds one row per record (length, CRC-32 of the payload, page count) and
 * `record_pages` its bytes in pages of `PAGE_BYTES`, stored EXTERNAL (out of line, uncompressed: payloads are
 * already coded, and `substring` of page 0 then reads only the bytes asked for). The catalog tables mirror the
 * SQLite catalog's, with the same row checksums. `records.owner` names the write that appended a record until that
 * write commits (see postgres-records.ts). 64-bit keys are int8 (two's complement, `toSqlKey`).
 *
 * `prepareSchema` runs on every open under an advisory lock, so processes opening a new or old store at once
 * create or migrate it once.
 */
import type pg from 'pg';
import { NeurStoreError, notFound } from '../../errors.js';
import { PG_SCHEMA, pgError } from './postgres-connect.js';

export const SCHEMA_VERSION = 1;

/** Advisory lock keys (two int4s: 'NSTR' and a number): the store's write lock, and schema creation/migration. */
export const LOCK_SPACE = 0x4e535452;
export const WRITE_LOCK = 1;
export const SCHEMA_LOCK = 2;

const CREATE_SQL = `
CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA};
SET LOCAL search_path = ${PG_SCHEMA};
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE records (key int8 PRIMARY KEY, length int8 NOT NULL, crc int8 NOT NULL, pages int4 NOT NULL, owner int8);
CREATE TABLE record_pages (key int8 NOT NULL, page int4 NOT NULL, data bytea NOT NULL, PRIMARY KEY (key, page));
ALTER TABLE record_pages ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE models (
  id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  format text NOT NULL,
  created_ms int8 NOT NULL,
  bytes_in int8 NOT NULL,
  files text NOT NULL,
  architecture_key int8 NOT NULL,
  mode text NOT NULL,
  tolerance float8 NOT NULL,
  tensor_count int4 NOT NULL,
  stored_bytes int8 NOT NULL,
  metadata text NOT NULL,
  row_crc int8 NOT NULL,
  tensors_crc int8 NOT NULL
);
CREATE TABLE tags (
  model_id int8 NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  key text NOT NULL,
  value text NOT NULL,
  PRIMARY KEY (model_id, key)
);
CREATE TABLE tensors (
  model_id int8 NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  idx int4 NOT NULL,
  name text NOT NULL,
  dtype text NOT NULL,
  shape text NOT NULL,
  byte_length int8 NOT NULL,
  record_key int8 NOT NULL,
  stored_as text NOT NULL,
  codec text NOT NULL,
  base_key int8,
  depth int4 NOT NULL,
  stored_bytes int8 NOT NULL,
  bits float8 NOT NULL,
  max_error float8 NOT NULL,
  seq int8 GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (model_id, idx)
);
CREATE INDEX tensors_by_record ON tensors(record_key);
CREATE INDEX tensors_by_base ON tensors(base_key);
CREATE INDEX tensors_by_shape ON tensors(shape);
INSERT INTO meta (key, value) VALUES ('schema_version', '${SCHEMA_VERSION}');
`;

/** Migrations: MIGRATIONS[n] takes a store from version n to n + 1 (none yet). */
const MIGRATIONS: Readonly<Record<number, string>> = {};

export const toSqlKey = (k: bigint): string => BigInt.asIntN(64, k).toString();
export const fromSqlKey = (k: string | bigint): bigint => BigInt.asUintN(64, BigInt(k));

async function version(client: pg.Client): Promise<number | undefined> {
  const t = await client.query('SELECT to_regclass($1) AS t', [`${PG_SCHEMA}.meta`]);
  if (t.rows[0].t === null) return undefined;
  const r = await client.query(`SELECT value FROM ${PG_SCHEMA}.meta WHERE key = 'schema_version'`);
  return r.rows.length ? Number(r.rows[0].value) : undefined;
}

/**
 * Checks (and with `create`, makes; when writable, migrates) the schema. NOT_FOUND with a hint when the database
 * holds no store, NOT_SUPPORTED when it was written by a newer NeurStore.
 */
export async function prepareSchema(client: pg.Client, location: string, o: { create?: boolean; readOnly?: boolean }): Promise<void> {
  try {
    if (o.readOnly) return check(await version(client), location);
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_SPACE, SCHEMA_LOCK]);
    try {
      let v = await version(client);
      if (v === undefined && o.create) {
        await inTransaction(client, CREATE_SQL);
        v = SCHEMA_VERSION;
      }
      check(v, location);
      for (; v! < SCHEMA_VERSION; v!++) {
        await inTransaction(client, `${MIGRATIONS[v!]}\nUPDATE ${PG_SCHEMA}.meta SET value = '${v! + 1}' WHERE key = 'schema_version';`);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, SCHEMA_LOCK]).catch(() => undefined);
    }
  } catch (e) {
    throw pgError(e, location, 'cannot prepare the store schema in');
  }
}

function check(v: number | undefined, location: string): void {
  if (v === undefined) {
    throw notFound(`no NeurStore store in ${location} (schema ${PG_SCHEMA} has no meta table); create one with \`neurstore init ${location}\``);
  }
  if (v > SCHEMA_VERSION) {
    throw new NeurStoreError('NOT_SUPPORTED', `the store at ${location} has schema version ${v}; this NeurStore reads up to ${SCHEMA_VERSION}`);
  }
}

/** Runs `sql` (several statements) as one transaction on `client`. */
export async function inTransaction(client: pg.Client, sql: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
