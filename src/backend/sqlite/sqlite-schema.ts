/**
 * Schema of the embedded SQLite catalog. 64-bit record keys are stored as signed INTEGERs (their two's
 * complement), converted at the edge by `toSqlKey`/`fromSqlKey`.
 */

/** 2 added `row_crc` and `tensors_crc` to models (see catalog/row-checksum.ts); version 1 catalogs are migrated on a writable open. */
export const SCHEMA_VERSION = 2;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  format TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  files TEXT NOT NULL,
  architecture_key INTEGER NOT NULL,
  mode TEXT NOT NULL,
  tolerance REAL NOT NULL,
  tensor_count INTEGER NOT NULL,
  stored_bytes INTEGER NOT NULL,
  metadata TEXT NOT NULL,
  row_crc INTEGER,
  tensors_crc INTEGER
);
CREATE TABLE IF NOT EXISTS tags (
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
);
CREATE TABLE IF NOT EXISTS tensors (
  model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  name TEXT NOT NULL,
  dtype TEXT NOT NULL,
  shape TEXT NOT NULL,
  byte_length INTEGER NOT NULL,
  record_key INTEGER NOT NULL,
  stored_as TEXT NOT NULL,
  codec TEXT NOT NULL,
  base_key INTEGER,
  depth INTEGER NOT NULL,
  stored_bytes INTEGER NOT NULL,
  bits REAL NOT NULL,
  max_error REAL NOT NULL,
  PRIMARY KEY (model_id, idx)
);
CREATE INDEX IF NOT EXISTS tensors_by_record ON tensors(record_key);
CREATE INDEX IF NOT EXISTS tensors_by_shape ON tensors(shape);
`;

/** Version 1 -> 2: the checksum columns (filled in by the catalog, which knows how to compute them). */
export const MIGRATE_1_TO_2_SQL = `
ALTER TABLE models ADD COLUMN row_crc INTEGER;
ALTER TABLE models ADD COLUMN tensors_crc INTEGER;
`;

export const toSqlKey = (k: bigint): bigint => BigInt.asIntN(64, k);
export const fromSqlKey = (k: bigint | number): bigint => BigInt.asUintN(64, BigInt(k));
