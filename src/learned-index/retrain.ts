/**
 * Model retraining and bulk load: the two operations that replace top-level models.
 *
 * Retraining takes the index-wide retrain lock (one retraining at a time; readers and writers elsewhere go
 * on), freezes the model and any small neighbours it merges with, walks them slot by slot under each slot's
 * lock to collect their live pairs (trained keys without tombstones, level bins, child models), fits new
 * models on the collected run and publishes a new directory with one atomic store (RCU): readers holding the
 * old directory keep reading the frozen models, writers that reach a frozen model wait for the new
 * directory. The old blocks are retired through the epoch scheme.
 */
import { Arena, H } from './arena.js';
import { binBlocks, binCollect } from './level-bin.js';
import { EpochMember, readBegin, setSize } from './epochs.js';
import {
  buildDirectory, buildModels, DEAD, dirFind, dirModels, dirWords, M_CHANGES, M_FROZEN, M_KEYS, M_N, modelWords,
  PAIR_WORDS, R_LOCK, R_SLOT, recAt, SLOT_DIR, SLOT_PAIR,
} from './model.js';
import { PairRun } from './u64.js';

type Retire = (p: number, w: number) => void;

/** Appends the live pairs of model `m` (in order) to `run` (when given) and passes its blocks to `retire`. */
function collectModel(a: Arena, m: number, run: PairRun | null, retire: Retire): void {
  a.ensure(m);
  const n = a.u32[m + M_N];
  const rec = recAt(m, n);
  for (let i = 0; i <= n; i++) {
    const r = rec + 4 * i;
    // No lock: the model is frozen, and a writer checks that flag after taking a slot's lock (both sides
    // use sequentially consistent atomics), so once a slot is seen unlocked it never changes again. Only a
    // writer that locked it before the freeze can still be in it: wait for that one to finish.
    const v = readBegin(a.i32, r + R_LOCK);
    a.sync();
    const u = a.u32;
    const s = u[r + R_SLOT];
    if ((s & 3) === SLOT_DIR) collectDir(a, s ^ SLOT_DIR, run, retire);
    else if ((s & 3) === SLOT_PAIR) {
      const p = s ^ SLOT_PAIR;
      if (run) run.push(u[p], u[p + 1], u[p + 2], u[p + 3]);
      retire(p, PAIR_WORDS);
    } else if (s !== 0) {
      if (run) binCollect(a, s, run);
      binBlocks(a.u32, s, retire);
    }
    if (run && i < n && (v & DEAD) === 0) {
      run.push(u[m + M_KEYS + 2 * i], u[m + M_KEYS + 2 * i + 1], u[r], u[r + 1]);
    }
  }
  retire(m, modelWords(n));
}

function collectDir(a: Arena, d: number, run: PairRun | null, retire: Retire): void {
  for (const m of dirModels(a.u32, d)) collectModel(a, m, run, retire);
  retire(d, dirWords(a.u32[d]));
}

/** The [first, last] directory indexes to retrain around model index j: j plus small neighbours. */
function mergeRange(u: Uint32Array, models: number[], j: number, maxKeys: number): [number, number] {
  const small = Math.max(16, maxKeys >>> 4);
  const size = (k: number): number => u[models[k] + M_N] + u[models[k] + M_CHANGES];
  let total = size(j);
  let first = j;
  let last = j;
  while (first > 0 && size(first - 1) < small && total + size(first - 1) <= maxKeys) total += size(--first);
  while (last + 1 < models.length && size(last + 1) < small && total + size(last + 1) <= maxKeys) {
    total += size(++last);
  }
  return [first, last];
}

/**
 * Retrains top-level model `top` (merging small neighbours). Returns false without waiting when another
 * retraining runs or `top` is no longer in the directory.
 */
export function retrainModel(a: Arena, epochs: EpochMember, top: number): boolean {
  if (!a.tryLock(H.RETRAIN_LOCK)) return false;
  epochs.enter();
  try {
    a.refresh();
    const u = a.u32;
    const d = Atomics.load(a.i32, H.ROOT);
    const models = dirModels(u, d);
    const n = u[top + M_N];
    const j = n > 0 ? dirFind(u, d, u[top + M_KEYS + 2 * n - 2], u[top + M_KEYS + 2 * n - 1]) : 0;
    if (models[j] !== top) return false;
    const eps = a.i32[H.EPSILON];
    const maxKeys = a.i32[H.MAX_MODEL_KEYS];
    const [first, last] = mergeRange(u, models, j, maxKeys);
    const run = new PairRun(1024);
    const retired: number[] = [d, dirWords(models.length)];
    const retire: Retire = (p, w) => void retired.push(p, w);
    const frozen = models.slice(first, last + 1);
    for (const m of frozen) Atomics.store(a.i32, m + M_FROZEN, 1);
    try {
      for (const m of frozen) collectModel(a, m, run, retire);
      const whole = first === 0 && last === models.length - 1;
      const fresh = run.length > 0 || whole ? buildModels(a, run, eps, maxKeys) : [];
      publish(a, buildDirectory(a, [...models.slice(0, first), ...fresh, ...models.slice(last + 1)]));
    } catch (e) {
      thaw(a, frozen);
      throw e;
    }
    for (let k = 0; k < retired.length; k += 2) epochs.retire(retired[k], retired[k + 1]);
    Atomics.add(a.i32, H.RETRAINS, 1);
    return true;
  } finally {
    epochs.exit();
    a.unlock(H.RETRAIN_LOCK);
  }
}

/**
 * Undoes a freeze after a retraining failed before publishing (the arena is full): collecting only read the
 * frozen models and queued nothing for reclamation, so they are still whole, and writers waiting on them
 * go on. Blocks the failed build had allocated stay allocated.
 */
function thaw(a: Arena, models: number[]): void {
  for (const m of models) Atomics.store(a.i32, m + M_FROZEN, 0);
  Atomics.notify(a.i32, H.ROOT);
}

/** Makes directory `nd` the root (one atomic store) and wakes writers waiting for it. */
function publish(a: Arena, nd: number): void {
  Atomics.store(a.i32, H.ROOT, nd);
  Atomics.notify(a.i32, H.ROOT);
}

/** Replaces the whole contents with `run` (strictly ascending; the caller checked). Waits for the retrain lock. */
export function bulkLoadRun(a: Arena, epochs: EpochMember, run: PairRun): void {
  a.lock(H.RETRAIN_LOCK);
  epochs.enter();
  try {
    a.refresh();
    const old = Atomics.load(a.i32, H.ROOT);
    const retired: number[] = [];
    const retire: Retire = (p, w) => void retired.push(p, w);
    const models = old === 0 ? [] : dirModels(a.u32, old);
    for (const m of models) Atomics.store(a.i32, m + M_FROZEN, 1);
    let nd: number;
    try {
      if (old !== 0) collectDir(a, old, null, retire);
      nd = buildDirectory(a, buildModels(a, run, a.i32[H.EPSILON], a.i32[H.MAX_MODEL_KEYS]));
    } catch (e) {
      thaw(a, models); // the old contents stay
      throw e;
    }
    setSize(a.i32, run.length); // before publishing: until then every writer waits on the frozen models
    publish(a, nd);
    for (let k = 0; k < retired.length; k += 2) epochs.retire(retired[k], retired[k + 1]);
  } finally {
    epochs.exit();
    a.unlock(H.RETRAIN_LOCK);
  }
}

/** Retrains every top-level model whose changes since training reached its due count. Returns how many. */
export function retrainDue(a: Arena, epochs: EpochMember): number {
  let done = 0;
  epochs.enter(); // keeps the listed models from being reclaimed while we look at them
  try {
    a.refresh();
    const models = dirModels(a.u32, Atomics.load(a.i32, H.ROOT));
    for (const m of models) {
      const due = Math.max(256, a.u32[m + M_N]);
      if (a.u32[m + M_CHANGES] >= due && retrainModel(a, epochs, m)) done++;
    }
  } finally {
    epochs.exit();
  }
  return done;
}
