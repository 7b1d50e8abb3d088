/**
 * The tolerance sweep of a model already in the store (the dashboard's tolerance page): the model is got back
 * into a temporary directory, as the store gives it (a lossy model's stored values, not its original upload's),
 * and swept with dry runs only (ratio, stored bytes, max error; no metric) in an empty scratch store beside it.
 *
 * Why a scratch store: swept in its own store, a model is all duplicates of itself at every tolerance (ratio
 * Infinity, a flat curve that says nothing). In the scratch store each tolerance's figures are what the model
 * alone would cost: the same rows `sweepTolerances` gives for the model's file in an empty store. Nothing is
 * written to `store`; the temporary directory (files and scratch store) is removed on every path.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cancelled, invalidArgument } from '../errors.js';
import { NeurStore, type OpenOptions } from './neur-store.js';
import { sweepTolerances, type SweepRow } from './tolerance-sweep.js';

/** One tolerance per decade from 1e-5 to 1e-1: the dashboard's sweep. */
export const MODEL_SWEEP_TOLERANCES: readonly number[] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

/** Before tolerance `done + 1` of `total` (`tolerance`); once more with `done === total` at the end. */
export interface ModelSweepProgress { readonly done: number; readonly total: number; readonly tolerance?: number }

export interface ModelSweepOptions {
  /** Default MODEL_SWEEP_TOLERANCES; each finite and > 0. */
  tolerances?: readonly number[];
  /** `default` or `paper`; default: `paper` for a model stored in paper mode, else `default`. */
  mode?: 'default' | 'paper';
  /** Seed of the paper mode's random base choice (default 0: the same rows on every run). */
  seed?: number;
  onProgress?: (p: ModelSweepProgress) => void;
  /** Stops between tolerances with CANCELLED. */
  signal?: AbortSignal;
  /** Options of the scratch store (default: decoding on the calling thread). */
  scratch?: Omit<OpenOptions, 'create'>;
}

export interface ModelSweep {
  readonly name: string;
  /** The model's mode and tolerance as stored (tolerance 0 when lossless). */
  readonly storedMode: string;
  readonly storedTolerance: number;
  /** The mode swept in. */
  readonly mode: 'default' | 'paper';
  readonly rows: readonly SweepRow[];
}

/**
 * Sweeps model `name` of `store` (NOT_FOUND when there is none) over `options.tolerances`, one dry run each,
 * reporting progress before each tolerance. Rows in the order of the tolerances.
 */
export async function sweepStoredModel(store: NeurStore, name: string, options: ModelSweepOptions = {}): Promise<ModelSweep> {
  const tolerances = options.tolerances ?? MODEL_SWEEP_TOLERANCES;
  if (!Array.isArray(tolerances) || tolerances.length === 0) throw invalidArgument('a sweep needs at least one tolerance');
  const info = await store.info(name);
  const mode = options.mode ?? (info.mode === 'paper' ? 'paper' : 'default');
  const stop = () => {
    if (options.signal?.aborted) throw cancelled(`the sweep of '${name}' was cancelled`);
  };
  stop();
  const dir = await mkdtemp(join(tmpdir(), 'neurstore-model-sweep-'));
  let scratch: NeurStore | undefined;
  try {
    const main = info.files[0] ?? 'model';
    const [file] = await store.get(name, join(dir, 'model', main));
    scratch = await NeurStore.init(join(dir, 'store'), { decodeWorkers: 0, ...options.scratch });
    const rows: SweepRow[] = [];
    for (const [i, tolerance] of tolerances.entries()) {
      stop();
      options.onProgress?.({ done: i, total: tolerances.length, tolerance });
      // One tolerance per call: each is a dry run rolled back, so the rows are those of one call over all of them.
      rows.push(...(await sweepTolerances(scratch, file!, { mode, tolerances: [tolerance], seed: options.seed ?? 0 })));
    }
    options.onProgress?.({ done: tolerances.length, total: tolerances.length });
    return { name, storedMode: info.mode, storedTolerance: info.tolerance, mode, rows };
  } finally {
    await scratch?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
