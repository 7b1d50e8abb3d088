/**
 * Tolerance sweep: what each error bound would buy (compression ratio, max error) and, when the user gives a
 * metric, what it costs (the metric of the model after a real round trip through the store). It answers "which
 * tolerance can I afford for this model?" from data instead of from the default.
 *
 * Ratios and max errors come from dry runs, all made before any real put, so the sweep's own temporary models
 * never serve as bases for the figures it reports. The metric needs real bytes back: each tolerance is put under
 * a temporary name into the user's store (so a fine-tune is measured as the delta it would really be stored
 * as), got back into a temporary directory, measured and removed; a gc at the end then drops the records, which
 * would otherwise count as duplicates (0 bytes) in the next sweep's dry runs at the same tolerance.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { NeurStore } from './neur-store.js';
import type { Mode } from './store-types.js';

/** The default tolerances of a sweep: a decade on each side of DEFAULT_TOLERANCE. */
export const DEFAULT_SWEEP_TOLERANCES: readonly number[] = [1e-4, 1e-3, 1e-2];

/** The user's metric of a model file (accuracy, agreement...): higher or lower is better, the sweep does not care. */
export type EvaluateFn = (modelPath: string) => Promise<number>;

export interface SweepOptions {
  /** `default` (ours, the default) or `paper`; lossless has no tolerance to sweep. */
  mode?: Exclude<Mode, 'lossless'>;
  /** Tolerances to try, each finite and > 0; reported in the order given. Default DEFAULT_SWEEP_TOLERANCES. */
  tolerances?: readonly number[];
  /** Called on the written-back model of each tolerance; omitted: rows carry no metric and nothing is stored. */
  evaluate?: EvaluateFn;
  /** Seed of the paper mode's random base choice (passed to put). */
  seed?: number;
}

/** One tolerance's figures. `ratio` is bytes in / new bytes stored (Infinity when everything was a duplicate). */
export interface SweepRow {
  readonly tolerance: number;
  readonly ratio: number;
  readonly storedBytes: number;
  readonly bytesIn: number;
  readonly maxError: number;
  readonly metric?: number;
}

function validTolerances(tolerances: readonly number[]): readonly number[] {
  if (!Array.isArray(tolerances) || tolerances.length === 0) throw invalidArgument('a sweep needs at least one tolerance');
  for (const t of tolerances) {
    if (typeof t !== 'number' || !(t > 0) || !Number.isFinite(t)) throw invalidArgument(`tolerance ${String(t)} is not a finite number > 0`);
  }
  return tolerances;
}

/** A name no user model is likely to hold, different for each tolerance of this sweep. */
function tempName(i: number): string {
  return `.sweep-${process.pid}-${Date.now().toString(36)}-${i}`;
}

/**
 * Sweeps `tolerances` for the model at `path` in `store`, which is left with the models it had (with
 * `evaluate`, the closing gc also reclaims any garbage the store already held). A model already stored at one
 * of the tolerances shows as all duplicates there (ratio Infinity). Errors of the store (a malformed model:
 * INVALID_ARGUMENT...) and of `evaluate` propagate; temporary models and files are removed on every path.
 */
export async function sweepTolerances(store: NeurStore, path: string, options: SweepOptions = {}): Promise<SweepRow[]> {
  const mode = options.mode ?? 'default';
  if (mode !== 'default' && mode !== 'paper') throw invalidArgument(`a sweep runs in mode default or paper, not '${String(mode)}'`);
  const tolerances = validTolerances(options.tolerances ?? DEFAULT_SWEEP_TOLERANCES);
  const rows: SweepRow[] = [];
  let mainFile = basename(path);
  for (const [i, tolerance] of tolerances.entries()) {
    const r = await store.put(path, { name: tempName(i), mode, tolerance, dryRun: true, seed: options.seed });
    if (r.files.length > 0) mainFile = basename(r.files[0]!);
    const ratio = r.storedBytes > 0 ? r.bytesIn / r.storedBytes : Infinity;
    rows.push({ tolerance, ratio, storedBytes: r.storedBytes, bytesIn: r.bytesIn, maxError: r.maxError });
  }
  if (!options.evaluate) return rows;
  const out: SweepRow[] = [];
  try {
    for (const [i, row] of rows.entries()) {
      out.push({ ...row, metric: await metricAt(store, path, mainFile, row.tolerance, i, mode, options) });
    }
  } finally {
    await store.gc();
  }
  return out;
}

async function metricAt(
  store: NeurStore, path: string, mainFile: string, tolerance: number, i: number, mode: Mode, options: SweepOptions,
): Promise<number> {
  const name = tempName(i);
  const dir = await mkdtemp(join(tmpdir(), 'neurstore-sweep-'));
  let stored = false;
  try {
    await store.put(path, { name, mode, tolerance, seed: options.seed });
    stored = true;
    const [written] = await store.get(name, join(dir, mainFile));
    const metric = await options.evaluate!(written!);
    if (typeof metric !== 'number' || Number.isNaN(metric)) {
      throw invalidArgument(`the evaluate function returned ${String(metric)} at tolerance ${tolerance}; it must return a number`);
    }
    return metric;
  } finally {
    if (stored) await store.remove(name);
    await rm(dir, { recursive: true, force: true });
  }
}
