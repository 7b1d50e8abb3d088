/**
 * What `predict` and `predict_scores` mean, whatever engine calls them: argument checks with errors that name
 * the function, the row and what is wrong, feature vectors from SQL values, and scoring through a `ModelHost`.
 * The engines (duckdb-functions.ts, sqlite-functions.ts) only move values in and out of their own types.
 *
 *   predict(model, features [, load_mode])         -> the argmax class (0-based) of the model's first output
 *   predict_scores(model, features [, load_mode])  -> the first output's values for the row (logits...)
 */
import { invalidArgument } from '../errors.js';
import { LOAD_MODES, checkLoadMode, type LoadMode } from '../runtime/load-forms.js';
import type { ModelHost } from './model-host.js';

export type PredictFunction = 'predict' | 'predict_scores';
export const PREDICT_FUNCTIONS: readonly PredictFunction[] = ['predict', 'predict_scores'];
/** Load mode when the third argument is omitted. */
export const DEFAULT_SQL_LOAD_MODE: LoadMode = 'fp32';

/** Where a bad value was, for messages: `predict(): row 3: ...`. Rows count from 1 within the call's batch. */
export function fail(fn: string, row: number | undefined, message: string): never {
  throw invalidArgument(`${fn}(): ${row === undefined ? '' : `row ${row}: `}${message}`);
}

/** The model name and load mode arguments, checked. */
export function modelArgs(fn: string, row: number, model: unknown, mode: unknown): { model: string; mode: LoadMode } {
  if (model === null || model === undefined) fail(fn, row, 'the model name is NULL');
  if (typeof model !== 'string' || model === '') fail(fn, row, `the model name must be a non-empty string, got ${typeof model}`);
  if (mode === null) fail(fn, row, `load_mode is NULL (expected one of ${LOAD_MODES.join(', ')})`);
  try {
    return { model, mode: mode === undefined ? DEFAULT_SQL_LOAD_MODE : checkLoadMode(String(mode)) };
  } catch (e) {
    fail(fn, row, (e as Error).message);
  }
}

/**
 * A feature vector from a SQLite value: a JSON array of numbers (`'[0.1, 0.5]'`) or a BLOB of little-endian
 * float32s. NULL, other types, non-numbers and non-finite numbers are errors naming what was found.
 */
export function featuresOfValue(fn: string, row: number, v: unknown): Float32Array {
  if (v === null || v === undefined) fail(fn, row, 'features are NULL');
  if (v instanceof Uint8Array) {
    if (v.length % 4 !== 0) fail(fn, row, `a features BLOB must hold float32 values (a multiple of 4 bytes), got ${v.length} bytes`);
    const out = new Float32Array(v.length / 4);
    new Uint8Array(out.buffer).set(v);
    return checkFinite(fn, row, out);
  }
  if (typeof v !== 'string') fail(fn, row, `features must be a JSON array of numbers or a float32 BLOB, got ${typeof v === 'bigint' ? 'an integer' : typeof v} ${String(v)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    fail(fn, row, `features text is not a JSON array of numbers: ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`);
  }
  if (!Array.isArray(parsed)) fail(fn, row, `features text is not a JSON array of numbers: ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`);
  const out = new Float32Array(parsed.length);
  for (let i = 0; i < parsed.length; i++) {
    const x = parsed[i];
    if (x === null) fail(fn, row, `feature ${i + 1} is NULL`);
    if (typeof x !== 'number') fail(fn, row, `feature ${i + 1} is not a number: ${JSON.stringify(x)}`);
    out[i] = x;
  }
  return checkFinite(fn, row, out);
}

/** NaN or infinity in a feature vector is an error naming the first one (a model would turn it into garbage). */
export function checkFinite(fn: string, row: number, x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) fail(fn, row, `feature ${i + 1} is ${x[i]} (not a finite number)`);
  return x;
}

/** Rows of one (model, mode) gathered for one runtime call. */
export interface FeatureBatch {
  readonly model: string;
  readonly mode: LoadMode;
  /** Row numbers (0-based, within the engine's call) in the order of `x`. */
  readonly rows: number[];
  /** Each row's features, checked for count. */
  readonly vectors: Float32Array[];
}

/**
 * Scores a batch and returns, per row of `batch.rows`, its outputs' offset into `scores`. Checks the feature
 * count against the model first (the model is loaded on first use, which may fail with NOT_FOUND...).
 */
export function scoreBatch(host: ModelHost, fn: string, batch: FeatureBatch): { scores: Float32Array; perRow: number } {
  const m = host.model(batch.model, batch.mode);
  const f = m.features ?? batch.vectors[0]!.length;
  batch.vectors.forEach((v, i) => {
    if (v.length !== f) {
      const want = m.features === null ? `${f} features like the rows before it` : `${f} features (input [N, ${m.rowShape.join(', ')}])`;
      fail(fn, batch.rows[i]! + 1, `model '${batch.model}' takes ${want}, got ${v.length}`);
    }
  });
  const x = new Float32Array(batch.vectors.length * f);
  batch.vectors.forEach((v, i) => x.set(v, i * f));
  return host.run(batch.model, batch.mode, x, batch.vectors.length);
}
