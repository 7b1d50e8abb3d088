/**
 * The embedded DuckDB engine of `neurstore sql`: an in-memory database (or a DuckDB file), the store's
 * `models` and `tensors` tables in an attached in-memory catalog `neurstore` (found without qualification; a
 * table of the user's with the same name wins), and `predict`/`predict_scores` as vectorized functions: DuckDB
 * hands each call a vector of up to 2048 rows, scored in one runtime call per (model, load mode) in it.
 * DuckDB reads CSV, Parquet and JSON files itself (`FROM 'digits.csv'`).
 */
import {
  DuckDBInstance, DuckDBScalarFunction, DuckDBTypeId, DOUBLE, FLOAT, INTEGER, LIST, VARCHAR, listValue,
  type DuckDBConnection, type DuckDBDataChunk, type DuckDBListVector, type DuckDBScalarFunctionInfo, type DuckDBVector,
} from '@duckdb/node-api';

import type { ModelHost } from './model-host.js';
import { argmax } from './model-runner.js';
import { PREDICT_FUNCTIONS, checkFinite, fail, modelArgs, scoreBatch, type FeatureBatch, type PredictFunction } from './predict-core.js';
import { sqlIdent, sqlString, type ColumnKind, type StoreTable } from './store-tables.js';
import { sqlFailure, type SqlEngine, type SqlResult } from './sql-engine.js';

const DUCK_TYPES: Record<ColumnKind, string> = {
  text: 'VARCHAR', double: 'DOUBLE', integer: 'INTEGER', bigint: 'BIGINT', timestamp: 'TIMESTAMP', int_list: 'BIGINT[]',
  text_map: 'MAP(VARCHAR, VARCHAR)', text_list: 'VARCHAR[]',
};

function literal(v: unknown, kind: ColumnKind): string {
  if (v === null || v === undefined) return 'NULL';
  switch (kind) {
    case 'text': return sqlString(String(v));
    case 'timestamp': return `epoch_ms(${(v as Date).getTime()})`;
    case 'int_list': return `[${(v as number[]).join(', ')}]::BIGINT[]`;
    case 'text_list': return `[${(v as string[]).map(sqlString).join(', ')}]::VARCHAR[]`;
    case 'text_map': {
      const e = Object.entries(v as Record<string, string>);
      return `MAP {${e.map(([k, x]) => `${sqlString(k)}: ${sqlString(x)}`).join(', ')}}::MAP(VARCHAR, VARCHAR)`;
    }
    default: return Number.isFinite(v) ? String(v) : 'NULL';
  }
}

const ALL_VALID = 0xffffffffffffffffn;

/** Reads one row's features out of a list vector's child: in bulk (typed array + validity words) when exposed. */
type ChildReader = (fn: string, row: number, at: number, n: number) => Float32Array;

function childReader(lists: DuckDBListVector): ChildReader {
  const child = lists.childVector as DuckDBVector & { items?: unknown; validity?: { data?: unknown } };
  const items = child.items;
  const mask = child.validity?.data;
  if (items instanceof Float64Array && (mask === null || mask instanceof BigUint64Array)) {
    return (fn, row, at, n) => {
      if (mask) {
        // Whole 64-bit validity words first (one comparison for 64 elements), bit by bit only where one is not full.
        for (let w = Math.floor(at / 64); w * 64 < at + n; w++) {
          if (mask[w] === ALL_VALID) continue;
          for (let i = Math.max(at, w * 64); i < Math.min(at + n, (w + 1) * 64); i++) {
            if ((mask[w]! & (1n << BigInt(i % 64))) === 0n) fail(fn, row + 1, `feature ${i - at + 1} is NULL`);
          }
        }
      }
      return Float32Array.from(items.subarray(at, at + n));
    };
  }
  return (fn, row, at, n) => {
    const x = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const v = child.getItem(at + k) as number | null;
      if (v === null) fail(fn, row + 1, `feature ${k + 1} is NULL`);
      x[k] = v;
    }
    return x;
  };
}

function featuresAt(fn: string, row: number, lists: DuckDBListVector, read: ChildReader): Float32Array {
  return checkFinite(fn, row + 1, read(fn, row, lists.getEntryOffset(row), lists.getEntryLength(row)));
}

/** Groups a chunk's rows by (model, mode), each with its checked features. */
function batchesOf(fn: PredictFunction, chunk: DuckDBDataChunk): FeatureBatch[] {
  if (chunk.columnCount > 3) fail(fn, undefined, `takes (model, features [, load_mode]), got ${chunk.columnCount} arguments`);
  const models = chunk.getColumnVector(0);
  const lists = chunk.getColumnVector(1) as DuckDBListVector;
  const modes = chunk.columnCount > 2 ? chunk.getColumnVector(2) : undefined;
  const child = childReader(lists);
  // getItem(i) would build the row's whole list value just to see it is not NULL: ask the validity mask instead.
  const validity = (lists as unknown as { validity?: { itemValid?: (i: number) => boolean } }).validity;
  const listValid = typeof validity?.itemValid === 'function' ? (i: number) => validity.itemValid!(i) : (i: number) => lists.getItem(i) !== null;
  const groups = new Map<string, FeatureBatch>();
  for (let i = 0; i < chunk.rowCount; i++) {
    const { model, mode } = modelArgs(fn, i + 1, models.getItem(i), modes ? modes.getItem(i) : undefined);
    if (!listValid(i)) fail(fn, i + 1, 'features are NULL');
    const key = `${model}\0${mode}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { model, mode, rows: [], vectors: [] }));
    g.rows.push(i);
    g.vectors.push(featuresAt(fn, i, lists, child));
  }
  return [...groups.values()];
}

function mapObject(entries: Array<{ key: unknown; value: unknown }>): Record<string, unknown> {
  return Object.fromEntries(entries.map((e) => [String(e.key), e.value]));
}

function predictFunction(fn: PredictFunction, host: ModelHost, onError: (e: unknown) => void): DuckDBScalarFunction {
  return DuckDBScalarFunction.create({
    name: fn,
    returnType: fn === 'predict' ? INTEGER : LIST(FLOAT),
    parameterTypes: [VARCHAR, LIST(DOUBLE)],
    varArgsType: VARCHAR,
    specialHandling: true, // NULL arguments reach us (and are refused) instead of silently giving NULL
    mainFunction: (info: DuckDBScalarFunctionInfo, chunk: DuckDBDataChunk, out: DuckDBVector) => {
      try {
        for (const b of batchesOf(fn, chunk)) {
          const { scores, perRow } = scoreBatch(host, fn, b);
          b.rows.forEach((row, j) => {
            if (fn === 'predict') out.setItem(row, argmax(scores, j * perRow, perRow));
            else out.setItem(row, listValue(Array.from(scores.subarray(j * perRow, (j + 1) * perRow))));
          });
        }
        out.flush();
      } catch (e) {
        onError(e);
        info.setError((e as Error).message);
      }
    },
  });
}

export class DuckdbEngine implements SqlEngine {
  private lastError: unknown;

  private constructor(private readonly instance: DuckDBInstance, private readonly conn: DuckDBConnection) {}

  /** Opens DuckDB (`path`: a DuckDB file, default in memory) with the store's tables and functions. */
  static async open(host: ModelHost | undefined, tables: readonly StoreTable[], path?: string): Promise<DuckdbEngine> {
    const instance = await DuckDBInstance.create(path ?? ':memory:');
    const conn = await instance.connect();
    const engine = new DuckdbEngine(instance, conn);
    try {
      if (host) for (const fn of PREDICT_FUNCTIONS) conn.registerScalarFunction(predictFunction(fn, host, (e) => (engine.lastError = e)));
      await conn.run("ATTACH ':memory:' AS neurstore");
      for (const t of tables) {
        await conn.run(`CREATE TABLE neurstore.${t.name} (${t.columns.map(([n, k]) => `${sqlIdent(n)} ${DUCK_TYPES[k]}`).join(', ')})`);
        for (const r of t.rows) await conn.run(`INSERT INTO neurstore.${t.name} VALUES (${r.map((v, i) => literal(v, t.columns[i]![1])).join(', ')})`);
      }
      const current = (await conn.runAndReadAll('SELECT current_database()')).getRows()[0]![0] as string;
      await conn.run(`SET search_path = ${sqlString(`${current}.main,neurstore.main`)}`);
    } catch (e) {
      engine.closeSync();
      throw e;
    }
    return engine;
  }

  async query(sql: string): Promise<SqlResult> {
    this.lastError = undefined;
    try {
      const result = await this.conn.stream(sql);
      const columns = result.columnNames();
      const maps = result.columnTypes().flatMap((t, i) => (t.typeId === DuckDBTypeId.MAP ? [i] : []));
      const self = this;
      async function* rows(): AsyncGenerator<unknown[][]> {
        try {
          for await (const batch of result.yieldRowsJs() as AsyncIterable<unknown[][]>) {
            // A MAP comes as a list of {key, value}: give it as the object it means (an empty one is `{}`, not `[]`).
            for (const row of batch) for (const i of maps) if (Array.isArray(row[i])) row[i] = mapObject(row[i] as Array<{ key: unknown; value: unknown }>);
            yield batch;
          }
        } catch (e) {
          throw sqlFailure(e, self.lastError);
        }
      }
      return { columns, rows: rows() };
    } catch (e) {
      throw sqlFailure(e, this.lastError);
    }
  }

  private closeSync(): void {
    this.conn.closeSync();
    this.instance.closeSync();
  }

  async close(): Promise<void> {
    this.closeSync();
  }
}

