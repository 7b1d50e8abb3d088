/**
 * SQLite rows <-> catalog rows, with the row checksums checked on the way out: a row that fails its checksum is
 * CORRUPTION naming the model (by id and by the name as stored), never a renamed model or a wrong record key.
 * Rows written before checksums existed (NULL) are read unchecked.
 */
import { NeurStoreError } from '../../errors.js';
import type { ModelRow, TensorRow } from '../../catalog/catalog.js';
import { modelRowChecksum, tensorRowsChecksum } from '../../catalog/row-checksum.js';
import { fromSqlKey } from './sqlite-schema.js';

export type Row = Record<string, unknown>;

export function damagedRow(path: string, id: unknown, name: unknown, what: string): NeurStoreError {
  return new NeurStoreError('CORRUPTION',
    `catalog ${path}: model row ${id} (name as stored: ${JSON.stringify(name)}) fails its ${what} checksum; run \`neurstore repair\``);
}

function parseJson<T>(path: string, r: Row, column: string): T {
  try {
    return JSON.parse(r[column] as string) as T;
  } catch {
    throw damagedRow(path, r.id, r.name, `${column} (not JSON)`);
  }
}

export function toModelRow(path: string, r: Row, tagRows: Row[]): ModelRow {
  const tags: Record<string, string> = {};
  for (const t of tagRows) tags[t.key as string] = t.value as string;
  const model: ModelRow = {
    name: r.name as string,
    format: r.format as string,
    createdMs: Number(r.created_ms),
    bytesIn: Number(r.bytes_in),
    files: parseJson<string[]>(path, r, 'files'),
    architectureKey: fromSqlKey(r.architecture_key as bigint),
    mode: r.mode as ModelRow['mode'],
    tolerance: Number(r.tolerance),
    tensorCount: Number(r.tensor_count),
    storedBytes: Number(r.stored_bytes),
    metadata: parseJson<Record<string, string>>(path, r, 'metadata'),
    tags,
  };
  if (r.row_crc !== null && r.row_crc !== undefined && Number(r.row_crc) !== modelRowChecksum(model)) {
    throw damagedRow(path, r.id, r.name, 'row');
  }
  return model;
}

export function toTensorRows(path: string, model: Row, rows: Row[]): TensorRow[] {
  const tensors = rows.map((r): TensorRow => ({
    index: Number(r.idx),
    name: r.name as string,
    dtype: r.dtype as string,
    shape: parseJson<number[]>(path, { ...r, id: model.id, name: model.name, shape: r.shape }, 'shape'),
    byteLength: Number(r.byte_length),
    recordKey: fromSqlKey(r.record_key as bigint),
    storedAs: r.stored_as as TensorRow['storedAs'],
    codec: r.codec as TensorRow['codec'],
    ...(r.base_key === null ? {} : { baseKey: fromSqlKey(r.base_key as bigint) }),
    depth: Number(r.depth),
    storedBytes: Number(r.stored_bytes),
    bits: Number(r.bits),
    maxError: Number(r.max_error),
  }));
  const crc = model.tensors_crc;
  if (crc !== null && crc !== undefined && Number(crc) !== tensorRowsChecksum(tensors)) {
    throw damagedRow(path, model.id, model.name, 'tensor list');
  }
  if (crc !== null && crc !== undefined && tensors.length !== Number(model.tensor_count)) {
    throw damagedRow(path, model.id, model.name, 'tensor count');
  }
  return tensors;
}
