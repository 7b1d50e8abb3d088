/**
 * The hub's tables in a PostgreSQL store: `hub_*` in the store's `neurstore` schema, beside the store's own
 * tables, versioned by their own row `hub_schema_version` of the store's `meta` table (so the store's schema and
 * the hub's migrate apart; the store's `schema_version` is untouched). Created on the first writable open, under
 * the store's schema advisory lock, so servers opening at once create them once. Every row carries the CRC-32 of
 * its fields, as registry.sqlite's rows do.
 */
import type pg from 'pg';
import { NeurStoreError } from '../../errors.js';
import { PG_SCHEMA, pgError } from '../../backend/postgres/postgres-connect.js';
import { LOCK_SPACE, SCHEMA_LOCK, inTransaction } from '../../backend/postgres/postgres-schema.js';

export const HUB_SCHEMA_VERSION = 2;
/** Advisory lock key of hub writes (with LOCK_SPACE): one writer at a time across servers, like BEGIN IMMEDIATE. */
export const HUB_WRITE_LOCK = 3;

const CREATE_SQL = `
SET LOCAL search_path = ${PG_SCHEMA};
CREATE TABLE hub_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE hub_repos (name text PRIMARY KEY, private boolean NOT NULL, mode text NOT NULL, tolerance float8 NOT NULL,
  created_ms int8 NOT NULL, crc int8 NOT NULL);
CREATE TABLE hub_commits (id text PRIMARY KEY, repo text NOT NULL REFERENCES hub_repos(name) ON DELETE CASCADE, parent text,
  message text NOT NULL, author text NOT NULL, created_ms int8 NOT NULL, base_models text NOT NULL, crc int8 NOT NULL);
CREATE INDEX hub_commits_repo ON hub_commits(repo, created_ms);
CREATE TABLE hub_files (commit_id text NOT NULL REFERENCES hub_commits(id) ON DELETE CASCADE, path text NOT NULL,
  size int8 NOT NULL, sha256 text NOT NULL, git_sha1 text NOT NULL, source_sha256 text NOT NULL, lfs boolean NOT NULL,
  kind text NOT NULL, ref text NOT NULL, member text NOT NULL, crc int8 NOT NULL, PRIMARY KEY (commit_id, path));
CREATE INDEX hub_files_source ON hub_files(source_sha256);
CREATE INDEX hub_files_ref ON hub_files(ref);
CREATE TABLE hub_refs (repo text NOT NULL REFERENCES hub_repos(name) ON DELETE CASCADE, kind text NOT NULL, name text NOT NULL,
  commit_id text NOT NULL, crc int8 NOT NULL, PRIMARY KEY (repo, kind, name));
CREATE TABLE hub_models (name text PRIMARY KEY, format text NOT NULL, architecture text NOT NULL, members text NOT NULL, crc int8 NOT NULL);
CREATE TABLE hub_tokens (id text PRIMARY KEY, name text NOT NULL, hash text NOT NULL UNIQUE, scope text NOT NULL,
  repo_pattern text NOT NULL, created_ms int8 NOT NULL, crc int8 NOT NULL);
CREATE TABLE hub_blobs (sha256 text PRIMARY KEY, size int8 NOT NULL, stored_crc int8 NOT NULL, data bytea NOT NULL);
ALTER TABLE hub_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
INSERT INTO meta (key, value) VALUES ('hub_schema_version', '1');
`;

/**
 * Migrations: MIGRATIONS[n] takes the hub tables from version n to n + 1; a new store is created at version 1
 * and migrated, so both paths run the same statements.
 * 1 -> 2: blobs in pages (`hub_blob_pages`, 4 MiB each with a CRC-32; `hub_blobs.pages` = 0 marks a version 1
 * row whose bytes stay in `hub_blobs.data`); LFS uploads in flight in the database (`hub_uploads`: a finished,
 * checked object by sha256; `hub_upload_pages`: its bytes under the PUT's attempt id), so every server sees them.
 */
const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `ALTER TABLE hub_blobs ADD COLUMN pages int4 NOT NULL DEFAULT 0;
CREATE TABLE hub_blob_pages (sha256 text NOT NULL, page int4 NOT NULL, crc int8 NOT NULL, data bytea NOT NULL, PRIMARY KEY (sha256, page));
ALTER TABLE hub_blob_pages ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE hub_uploads (oid text PRIMARY KEY, attempt text NOT NULL, size int8 NOT NULL, pages int4 NOT NULL, created_ms int8 NOT NULL);
CREATE TABLE hub_upload_pages (attempt text NOT NULL, page int4 NOT NULL, crc int8 NOT NULL, data bytea NOT NULL, created_ms int8 NOT NULL,
  PRIMARY KEY (attempt, page));
ALTER TABLE hub_upload_pages ALTER COLUMN data SET STORAGE EXTERNAL;`,
};

async function version(client: pg.Client): Promise<number | undefined> {
  const r = await client.query(`SELECT value FROM ${PG_SCHEMA}.meta WHERE key = 'hub_schema_version'`);
  return r.rows.length ? Number(r.rows[0].value) : undefined;
}

/** Checks (when writable: creates or migrates) the hub tables of the store at `location` (whose schema exists). */
export async function prepareHubSchema(client: pg.Client, location: string, readOnly: boolean): Promise<void> {
  try {
    if (readOnly) return check(await version(client), location, true);
    await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_SPACE, SCHEMA_LOCK]);
    try {
      let v = await version(client);
      if (v === undefined) {
        await inTransaction(client, CREATE_SQL);
        v = 1;
      }
      check(v, location, false);
      for (; v < HUB_SCHEMA_VERSION; v++) {
        await inTransaction(client, `SET LOCAL search_path = ${PG_SCHEMA};\n${MIGRATIONS[v]}\nUPDATE meta SET value = '${v + 1}' WHERE key = 'hub_schema_version';`);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_SPACE, SCHEMA_LOCK]).catch(() => undefined);
    }
  } catch (e) {
    throw pgError(e, location, 'cannot prepare the hub tables in');
  }
}

function check(v: number | undefined, location: string, readOnly: boolean): void {
  if (v === undefined && readOnly) {
    throw new NeurStoreError('NOT_FOUND', `the store at ${location} holds no repositories yet: push one with \`neurstore push DIR namespace/name --store ${location}\``);
  }
  if (v !== undefined && v > HUB_SCHEMA_VERSION) {
    throw new NeurStoreError('NOT_SUPPORTED', `the hub tables of the store at ${location} have schema version ${v}; this NeurStore reads up to ${HUB_SCHEMA_VERSION}`);
  }
}
