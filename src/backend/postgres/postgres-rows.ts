/**
 * PostgreSQL rows <-> catalog rows, checked against their row checksums on the way out (catalog/row-checksum.ts):
 * a row that fails is CORRUPTION naming the model (by id and by the name as stored), never a renamed model or a
 * wrong record key. node-postgres returns int8 as text (converted here) and float8 as a JS number (exact: the
 * server prints the shortest text that reads back as the same double).
 */
import { NeurStoreError } from '../../errors.js';
import type { ModelRow, TensorRow } from '../../catalog/catalog.js';
import { modelRowChecksum, tensorRowsChecksum } from '../../catalog/row-checksum.js';
import { fromSqlKey, toSqlKey } from './postgres-schema.js';

export type Row = Record<string, unknown>;

export function damagedRow(location: string, id: unknown, name: unknown, what: string): NeurStoreError {
  return new NeurStoreError('CORRUPTION',
    `catalog ${location}: model row ${String(id)} (name as stored: ${JSON.stringify(name)}) fails its ${what} checksum; run \`neurstore repair\``);
}

function parseJson<T>(location: string, r: Row, column: string, model: Row = r): T {
  try {
    return JSON.parse(r[column] as string) as T;
  } catch {
    throw damagedRow(location, model.id, model.name, `${column} (not JSON)`);
  }
}

/** A `models` row (with `tags` as a JSON object, aggregated by the query) as a checked ModelRow. */
export function toModelRow(location: string, r: Row): ModelRow {
  const model: ModelRow = {
    name: r.name as string,
    format: r.format as string,
    createdMs: Number(r.created_ms),
    bytesIn: Number(r.bytes_in),
    files: parseJson<string[]>(location, r, 'files'),
    architectureKey: fromSqlKey(r.architecture_key as string),
    mode: r.mode as ModelRow['mode'],
    tolerance: Number(r.tolerance),
    tensorCount: Number(r.tensor_count),
    storedBytes: Number(r.stored_bytes),
    metadata: parseJson<Record<string, string>>(location, r, 'metadata'),
    tags: (r.tags ?? {}) as Record<string, string>,
  };
  if (Number(r.row_crc) !== modelRowChecksum(model)) throw damagedRow(location, r.id, r.name, 'row');
  return model;
}

/** A model's `tensors` rows (in index order) as checked TensorRows; `model` holds id, name, tensors_crc, tensor_count. */
export function toTensorRows(location: string, model: Row, rows: Row[]): TensorRow[] {
  const tensors = readTensorRows(location, model, rows);
  if (Number(model.tensors_crc) !== tensorRowsChecksum(tensors)) throw damagedRow(location, model.id, model.name, 'tensor list');
  if (tensors.length !== Number(model.tensor_count)) throw damagedRow(location, model.id, model.name, 'tensor count');
  return tensors;
}

/** The same, unchecked (to compute a checksum afresh). */
export function readTensorRows(location: string, model: Row, rows: Row[]): TensorRow[] {
  return rows.map((r): TensorRow => ({
    index: Number(r.idx),
    name: r.name as string,
    dtype: r.dtype as string,
    shape: parseJson<number[]>(location, r, 'shape', model),
    byteLength: Number(r.byte_length),
    recordKey: fromSqlKey(r.record_key as string),
    storedAs: r.stored_as as TensorRow['storedAs'],
    codec: r.codec as TensorRow['codec'],
    ...(r.base_key === null ? {} : { baseKey: fromSqlKey(r.base_key as string) }),
    depth: Number(r.depth),
    storedBytes: Number(r.stored_bytes),
    bits: Number(r.bits),
    maxError: Number(r.max_error),
  }));
}

/** Column arrays of `tensors` for one `INSERT ... SELECT FROM unnest(...)` (one round trip per model). */
export function tensorColumns(modelId: string, rows: readonly TensorRow[]): unknown[] {
  return [
    rows.map(() => modelId), rows.map((r) => r.index), rows.map((r) => r.name), rows.map((r) => r.dtype),
    rows.map((r) => JSON.stringify(r.shape)), rows.map((r) => r.byteLength), rows.map((r) => toSqlKey(r.recordKey)),
    rows.map((r) => r.storedAs), rows.map((r) => r.codec), rows.map((r) => (r.baseKey === undefined ? null : toSqlKey(r.baseKey))),
    rows.map((r) => r.depth), rows.map((r) => r.storedBytes), rows.map((r) => r.bits), rows.map((r) => r.maxError),
  ];
}

export const TENSOR_INSERT_SQL = `INSERT INTO tensors (model_id, idx, name, dtype, shape, byte_length, record_key, stored_as, codec, base_key,
  depth, stored_bytes, bits, max_error)
  SELECT * FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::text[], $9::text[],
  $10::int8[], $11::int4[], $12::int8[], $13::float8[], $14::float8[])`;
