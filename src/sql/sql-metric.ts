/**
 * The paper's dry run over SQL rows: a metric of a model file measured on rows a query selects, for
 * `sweep FILE --query Q` (each tolerance's written-back model is measured; see tolerance-sweep.ts).
 *
 * Q gives the features first and, optionally, a label: `SELECT features, label FROM t`. Rows run in DuckDB
 * (default: in memory, reading files), a SQLite file or PostgreSQL (`--db`), and are held in memory for the
 * sweep (one read, every tolerance measured on the same rows: sample large tables, e.g. `USING SAMPLE 2000`).
 *
 *   accuracy   share of rows whose argmax equals the label (needs the label column)
 *   agreement  share of rows whose argmax equals the uncompressed model's (FILE as given), as the paper measures
 *   mse        mean squared difference of the outputs from the label (a number or list of them) when there is
 *              one, else from the uncompressed model's outputs
 */
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { invalidArgument, notSupported } from '../errors.js';
import { NodeEnv } from '../env/node-env.js';
import { detectFormat } from '../store/format-registry.js';
import { openModelSource } from '../store/model-files.js';
import { tfjsModelOf } from '../runtime/tfjs-model.js';
import { argmax, onnxFileRunner, tfjsRunner, type ModelRunner } from './model-runner.js';
import { featuresOfValue } from './predict-core.js';
import { pgError } from './postgres-infer.js';
import { engineOf, isPostgresUrl } from './sql-service.js';
import { DuckdbEngine } from './duckdb-engine.js';
import { SqliteEngine } from './sqlite-engine.js';
import type { SqlEngine } from './sql-engine.js';

export type SqlMetric = 'accuracy' | 'agreement' | 'mse';
export const SQL_METRICS: readonly SqlMetric[] = ['accuracy', 'agreement', 'mse'];

export interface MetricRows {
  /** Features back to back, `count` rows of `features` each. */
  readonly x: Float32Array;
  readonly count: number;
  readonly features: number;
  /** Each row's label (a number, or a list for mse), or undefined when the query has one column. */
  readonly labels?: ReadonlyArray<number | number[]>;
}

function toNumbers(v: unknown, where: string): number[] {
  if (typeof v === 'string' || v instanceof Uint8Array) return Array.from(featuresOfValue('sweep', 0, v));
  if (!Array.isArray(v)) throw invalidArgument(`${where}: features must be a list of numbers, got ${v === null ? 'NULL' : typeof v}`);
  return v.map((e, k) => {
    const n = typeof e === 'bigint' ? Number(e) : e;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidArgument(`${where}: feature ${k + 1} is ${String(e)} (not a finite number)`);
    return n;
  });
}

function labelOf(v: unknown, where: string): number | number[] {
  if (typeof v === 'number' || typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return toNumbers(v, where);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw invalidArgument(`${where}: the label must be a number (or a list of numbers), got ${v === null ? 'NULL' : JSON.stringify(v)}`);
}

async function queryRows(db: string | undefined, query: string): Promise<unknown[][]> {
  if (db !== undefined && isPostgresUrl(db)) {
    const client = new pg.Client({ connectionString: db });
    try {
      await client.connect();
      return (await client.query({ text: query, rowMode: 'array' })).rows as unknown[][];
    } catch (e) {
      throw pgError(e, 'the sweep query failed');
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const engine: SqlEngine = engineOf(db) === 'sqlite' ? SqliteEngine.open(undefined, [], db!) : await DuckdbEngine.open(undefined, [], db);
  try {
    const r = await engine.query(query);
    const rows: unknown[][] = [];
    for await (const b of r.rows) rows.push(...b);
    return rows;
  } finally {
    await engine.close();
  }
}

/** Runs `query` and gathers its rows (features, optional label), checked. */
export async function metricRows(db: string | undefined, query: string): Promise<MetricRows> {
  const rows = await queryRows(db, query);
  if (rows.length === 0) throw invalidArgument('the sweep query selected no rows');
  if (rows[0]!.length < 1 || rows[0]!.length > 2) throw invalidArgument(`the sweep query must select features [, label], got ${rows[0]!.length} columns`);
  const first = toNumbers(rows[0]![0], 'row 1');
  const f = first.length;
  const x = new Float32Array(rows.length * f);
  const labels: Array<number | number[]> = [];
  rows.forEach((r, i) => {
    const v = i === 0 ? first : toNumbers(r[0], `row ${i + 1}`);
    if (v.length !== f) throw invalidArgument(`row ${i + 1}: ${v.length} features, row 1 has ${f}`);
    x.set(v, i * f);
    if (r.length === 2) labels.push(labelOf(r[1], `row ${i + 1}`));
  });
  return { x, count: rows.length, features: f, labels: rows[0]!.length === 2 ? labels : undefined };
}

/** A runner over a model file (ONNX or TF.js) outside any store. */
export async function fileRunner(path: string): Promise<ModelRunner> {
  const env = new NodeEnv();
  const source = await openModelSource(env, path);
  try {
    const format = await detectFormat(source);
    if (format.name === 'onnx') return onnxFileRunner(new Uint8Array(await readFile(path)), path);
    if (format.name === 'tfjs') {
      const layout = await format.read(source);
      return tfjsRunner(await tfjsModelOf(path, { architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() }), path);
    }
    throw notSupported(`${path} is ${format.name}: a metric over SQL rows needs a model that runs (ONNX or TF.js)`);
  } finally {
    await source.close();
  }
}

async function scoresOf(path: string, rows: MetricRows): Promise<{ scores: Float32Array; perRow: number }> {
  const runner = await fileRunner(path);
  try {
    return await runner.run(rows.x.slice(), rows.count);
  } finally {
    await runner.close();
  }
}

/** The metric of `scores` against the labels or the reference (the uncompressed model's scores). */
export function metricOf(metric: SqlMetric, got: { scores: Float32Array; perRow: number }, rows: MetricRows, reference: { scores: Float32Array; perRow: number }): number {
  const k = got.perRow;
  let sum = 0;
  for (let i = 0; i < rows.count; i++) {
    if (metric === 'accuracy') sum += argmax(got.scores, i * k, k) === rows.labels![i] ? 1 : 0;
    else if (metric === 'agreement') sum += argmax(got.scores, i * k, k) === argmax(reference.scores, i * k, k) ? 1 : 0;
    else {
      const label = rows.labels?.[i];
      const want = label === undefined ? Array.from(reference.scores.subarray(i * k, (i + 1) * k)) : typeof label === 'number' ? [label] : label;
      if (want.length !== k) throw invalidArgument(`row ${i + 1}: the label has ${want.length} values, the model gives ${k}`);
      for (let j = 0; j < k; j++) sum += (got.scores[i * k + j]! - want[j]!) ** 2 / k;
    }
  }
  return sum / rows.count;
}

/**
 * The `evaluate` of a sweep: reads the rows once, runs the uncompressed model (`originalPath`) once, and
 * returns a function measuring each written-back model on the same rows.
 */
export async function sqlEvaluator(originalPath: string, o: { db?: string; query: string; metric?: SqlMetric }): Promise<{ metric: SqlMetric; evaluate: (modelPath: string) => Promise<number> }> {
  const rows = await metricRows(o.db, o.query);
  const metric = o.metric ?? (rows.labels ? 'accuracy' : 'agreement');
  if (!SQL_METRICS.includes(metric)) throw invalidArgument(`unknown metric '${String(metric)}' (expected ${SQL_METRICS.join(', ')})`);
  if (metric === 'accuracy' && !rows.labels) throw invalidArgument('--metric accuracy needs a label: select features, label');
  const reference = await scoresOf(originalPath, rows);
  return { metric, evaluate: async (path) => metricOf(metric, await scoresOf(path, rows), rows, reference) };
}
