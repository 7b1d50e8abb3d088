/**
 * `loadReport(store, name, options)`: loads a model in a load mode and reports what each tensor became (its form
 * and the memory it holds), with `check` each tensor's largest error against its exact values, and with `session`
 * how long building the runnable model took (an ONNX Runtime session for ONNX models, a TF.js model for TF.js
 * ones). What `neurstore load` prints; any face can render the same report.
 */
import { performance } from 'node:perf_hooks';
import { notSupported } from '../errors.js';
import { loadedBytes, loadedValues, type LoadMode, type LoadedTensor } from '../runtime/load-forms.js';
import type { BaseCacheStats } from '../runtime/base-cache.js';
import type { NeurStore } from './neur-store.js';
import type { ProgressFn } from './store-types.js';
import { maxAbsError } from './tensor-values.js';

export interface LoadReportOptions {
  /** Default 'fp32'. */
  readonly mode?: LoadMode;
  /** Error bound of int8+delta (default: the model's tolerance, else DEFAULT_TOLERANCE). */
  readonly tolerance?: number;
  /** Also load the exact tensors and report each one's largest error (`maxError`). */
  readonly check?: boolean;
  /** Also build the runnable model and time it (NOT_SUPPORTED for formats without a runtime here). */
  readonly session?: boolean;
  /** Progress of the load in `mode` (not of the exact load of `check`). */
  readonly onProgress?: ProgressFn;
}

export interface LoadRow {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** `exact`, `fp32`, `fp16`, `int8`, `int8+delta8` (16, 32), with ` (shared base)` when the base is shared. */
  readonly form: string;
  readonly memoryBytes: number;
  /** Largest |loaded - exact| (only with `check`). */
  readonly maxError?: number;
}

export interface SessionReport {
  /** What was built: `ONNX Runtime session (MODE)` or `TF.js model`. */
  readonly kind: string;
  readonly seconds: number;
  readonly inputs?: readonly string[];
  readonly outputs?: readonly string[];
}

export interface LoadReport {
  readonly name: string;
  readonly mode: LoadMode;
  readonly tensors: number;
  readonly memoryBytes: number;
  /** Time of the load in `mode` (not of the exact load of `check`, nor of the session). */
  readonly seconds: number;
  /** Largest error over all tensors (only with `check`). */
  readonly maxError?: number;
  readonly cache: BaseCacheStats;
  readonly session?: SessionReport;
  readonly rows: readonly LoadRow[];
}

type LoadingStore = Pick<NeurStore, 'load' | 'info' | 'onnxSession' | 'tfjsModel' | 'cacheStats'>;

export async function loadReport(store: LoadingStore, name: string, options: LoadReportOptions = {}): Promise<LoadReport> {
  const mode = options.mode ?? 'fp32';
  const exact = options.check ? await exactValues(store, name) : undefined;
  const rows: LoadRow[] = [];
  const started = performance.now();
  for await (const t of store.load(name, { mode, tolerance: options.tolerance, onProgress: options.onProgress })) {
    const want = exact?.get(t.index);
    rows.push({
      name: t.name, dtype: t.dtype, shape: t.shape, form: formName(t), memoryBytes: loadedBytes(t),
      ...(want ? { maxError: maxAbsError(loadedValues(t), want) } : {}),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const session = options.session ? await sessionReport(store, name, mode, options.tolerance) : undefined;
  return {
    name, mode, tensors: rows.length, memoryBytes: rows.reduce((n, r) => n + r.memoryBytes, 0), seconds,
    maxError: exact ? rows.reduce((m, r) => Math.max(m, r.maxError ?? 0), 0) : undefined,
    cache: store.cacheStats(), session, rows,
  };
}

/** Builds the model's runtime once, times it and releases it. */
async function sessionReport(store: LoadingStore, name: string, mode: LoadMode, tolerance: number | undefined): Promise<SessionReport> {
  const format = (await store.info(name)).format;
  const t0 = performance.now();
  if (format === 'onnx') {
    const s = await store.onnxSession(name, { mode, tolerance });
    const r = { kind: `ONNX Runtime session (${mode})`, seconds: (performance.now() - t0) / 1000, inputs: s.inputNames, outputs: s.outputNames };
    await s.release();
    return r;
  }
  if (format === 'tfjs') {
    const m = await store.tfjsModel(name);
    const r = { kind: 'TF.js model', seconds: (performance.now() - t0) / 1000 };
    m.dispose();
    return r;
  }
  throw notSupported(`--session: a ${format} model has no runtime here (load its tensors instead)`);
}

/** Exact float values by tensor index, for `check`. */
async function exactValues(store: LoadingStore, name: string): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  for await (const t of store.load(name, { mode: 'exact' })) out.set(t.index, loadedValues(t));
  return out;
}

/** The form a loaded tensor took, as `LoadRow.form` names it. */
export function formName(t: LoadedTensor): string {
  if (t.form !== 'int8') return t.form;
  const d = t.delta ? `+delta${8 * t.delta.codes.BYTES_PER_ELEMENT}` : '';
  return `int8${d}${t.baseKey !== undefined ? ' (shared base)' : ''}`;
}
