/**
 * The store itself as two SQL tables, so `SELECT name, ratio FROM models ORDER BY ratio DESC` works:
 *
 *   models(name, format, mode, tolerance, tensors, bytes_in, bytes_stored, ratio, created, tags, files)
 *   tensors(model, idx, name, dtype, shape, elements, stored_as, bits, bytes, bytes_stored, max_error, base)
 *
 * `ratio` is bytes_in / bytes_stored (NULL when the model added no bytes: all duplicates); `base` names the
 * tensor a delta was stored against (`model/tensor`). Engine-neutral rows; each engine declares the types.
 */
import type { NeurStore } from '../store/neur-store.js';
import { BaseNames, describe } from '../store/describe-model.js';

export type ColumnKind = 'text' | 'double' | 'integer' | 'bigint' | 'timestamp' | 'int_list' | 'text_map' | 'text_list';

export interface StoreTable {
  readonly name: 'models' | 'tensors';
  readonly columns: ReadonlyArray<readonly [string, ColumnKind]>;
  /** Values: string, number, null, Date (timestamp), number[] / string[] (lists), Record<string,string> (map). */
  readonly rows: unknown[][];
}

const MODEL_COLUMNS: StoreTable['columns'] = [
  ['name', 'text'], ['format', 'text'], ['mode', 'text'], ['tolerance', 'double'], ['tensors', 'integer'],
  ['bytes_in', 'bigint'], ['bytes_stored', 'bigint'], ['ratio', 'double'], ['created', 'timestamp'],
  ['tags', 'text_map'], ['files', 'text_list'],
];

const TENSOR_COLUMNS: StoreTable['columns'] = [
  ['model', 'text'], ['idx', 'integer'], ['name', 'text'], ['dtype', 'text'], ['shape', 'int_list'], ['elements', 'bigint'],
  ['stored_as', 'text'], ['bits', 'double'], ['bytes', 'bigint'], ['bytes_stored', 'bigint'], ['max_error', 'double'], ['base', 'text'],
];

/** Reads the catalog into the two tables (one `describe` per model; bases named once each). */
export async function storeTables(store: NeurStore): Promise<StoreTable[]> {
  const models = await store.list();
  const modelRows = models.map((m) => [
    m.name, m.format, m.mode, m.tolerance, m.tensorCount, m.bytesIn, m.storedBytes,
    m.storedBytes > 0 ? m.bytesIn / m.storedBytes : null, new Date(m.createdMs), { ...m.tags }, [...m.files],
  ]);
  const names = new BaseNames(store);
  const tensorRows: unknown[][] = [];
  for (const m of models) {
    for (const t of (await describe(store, m.name, names)).tensors) {
      tensorRows.push([
        m.name, t.index, t.name, t.dtype, [...t.shape], t.shape.reduce((a, b) => a * b, 1), t.storedAs, t.bits,
        t.byteLength, t.storedBytes, t.maxError, t.base ?? null,
      ]);
    }
  }
  return [{ name: 'models', columns: MODEL_COLUMNS, rows: modelRows }, { name: 'tensors', columns: TENSOR_COLUMNS, rows: tensorRows }];
}

/** A SQL string literal (standard quoting: quotes doubled; both DuckDB and SQLite read it so). */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A SQL identifier, double-quoted (quotes doubled). */
export function sqlIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
