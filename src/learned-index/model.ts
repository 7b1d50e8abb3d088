/**
 * Models and directories in the arena.
 *
 * A directory is the top-level array of each model's last key: [count, pad, lastHi[c], lastLo[c], model[c]].
 * A key routes to the first model whose last key is >= it (the last model takes everything above).
 * A model is a linear function over an immutable trained array, plus one lazily filled slot per gap:
 *
 *   model  := header:32 keys:(hi, lo)[n] pad:(0|2) record[n+1]
 *   header := 0 n | 1 frozen | 4-5 slope f64 | 6-7 intercept f64 | 8 firstHi | 9 firstLo | 28 changes (other words 0)
 *   record := valHi valLo slot lock          (4 words, 16-byte aligned; record n has no value)
 *
 * Keys are dense so the last-mile search touches few cache lines; everything else about position i (its
 * value, the slot of the gap below it, the seqlock guarding both, and the key's tombstone in bit 1 of that
 * lock word, see epochs.ts) sits in one 16-byte record, so a lookup touches one more line after the search.
 * `changes` sits a cache line away from the fields readers use, so writers counting changes do not
 * invalidate the readers' line. Slot i holds the keys between trained keys i-1 and i (slot n: above the
 * last key). A slot word is 0 (empty) or a block pointer (a multiple of 4) tagged in its two low bits:
 * SLOT_BIN (a level bin), SLOT_DIR (a sub-directory: the bin was retrained into child models) or SLOT_PAIR
 * (one key inline in a 4-word pair block [keyHi, keyLo, valHi, valLo]: the first key of an empty gap).
 */
import { Arena } from './arena.js';
import { fitSegments } from './pla-fit.js';
import { diff64, PairRun } from './u64.js';

export const M_N = 0;
export const M_FROZEN = 1;
const M_SLOPE = 4;
const M_INTERCEPT = 6;
const M_FIRST_HI = 8;
const M_FIRST_LO = 9;
export const M_CHANGES = 28;
export const M_KEYS = 32;

export const SLOT_BIN = 0;
export const SLOT_DIR = 1;
export const SLOT_PAIR = 2;
export const PAIR_WORDS = 4;
/** Word offsets inside a record. */
export const R_SLOT = 2;
export const R_LOCK = 3;
/** Tombstone bit of a lock word. */
export const DEAD = 2;

/** First record of model `m` with `n` trained keys (record i is at recAt + 4 * i). */
export const recAt = (m: number, n: number): number => m + M_KEYS + ((2 * n + 3) & ~3);
export const modelWords = (n: number): number => M_KEYS + ((2 * n + 3) & ~3) + 4 * (n + 1);
export const dirWords = (c: number): number => 2 + 3 * c;

/** Builds one model from keys [from, to) of `run` with a fitted line. */
function buildModel(a: Arena, run: PairRun, from: number, to: number, slope: number, intercept: number): number {
  const n = to - from;
  const m = a.alloc(modelWords(n), false); // every word is written below: no separate zeroing pass
  const u = a.u32;
  u.fill(0, m, m + M_KEYS);
  u[m + M_N] = n;
  a.f64[(m + M_SLOPE) >>> 1] = slope;
  a.f64[(m + M_INTERCEPT) >>> 1] = intercept;
  if (n > 0) {
    u[m + M_FIRST_HI] = run.khi[from];
    u[m + M_FIRST_LO] = run.klo[from];
  }
  const k = m + M_KEYS;
  const r = recAt(m, n);
  for (let i = 0; i < n; i++) {
    u[k + 2 * i] = run.khi[from + i];
    u[k + 2 * i + 1] = run.klo[from + i];
  }
  u.fill(0, k + 2 * n, r); // pad
  for (let i = 0; i < n; i++) {
    u[r + 4 * i] = run.vhi[from + i];
    u[r + 4 * i + 1] = run.vlo[from + i];
    u[r + 4 * i + 2] = 0; // empty slot
    u[r + 4 * i + 3] = 0; // unlocked, version 0, live
  }
  u.fill(0, r + 4 * n, r + 4 * n + 4); // slot above the last key
  return m;
}

/**
 * Fits and builds the models for keys [from, to) of `run` (strictly ascending). An empty range gives one
 * empty model so that inserts always have a home. Returns the model pointers in key order.
 */
export function buildModels(a: Arena, run: PairRun, eps: number, maxKeys: number, from = 0, to = run.length): number[] {
  if (to <= from) return [buildModel(a, run, 0, 0, 0, 0)];
  return fitSegments(run, eps, modelCap(maxKeys), from, to).map((s) => buildModel(a, run, s.start, s.end, s.slope, s.intercept));
}

/**
 * The most keys per model, at most `maxKeys`, whose block exactly fills a size class: full models (long
 * linear runs) then waste no allocator slack, at the price of at most 1/9 fewer keys per model.
 */
export function modelCap(maxKeys: number): number {
  const fit = Arena.floorClassWords(modelWords(maxKeys));
  let n = Math.min(maxKeys, Math.max(1, Math.floor((fit - M_KEYS - 4) / 6)));
  while (n < maxKeys && modelWords(n + 1) <= fit) n++;
  while (n > 1 && modelWords(n) > fit) n--;
  return n;
}

/** A directory over `models` (each non-empty unless it is the only one). */
export function buildDirectory(a: Arena, models: number[]): number {
  const c = models.length;
  const d = a.alloc(dirWords(c));
  const u = a.u32;
  u[d] = c;
  for (let j = 0; j < c; j++) {
    const m = models[j];
    const n = u[m + M_N];
    u[d + 2 + j] = n > 0 ? u[m + M_KEYS + 2 * n - 2] : 0xffffffff;
    u[d + 2 + c + j] = n > 0 ? u[m + M_KEYS + 2 * n - 1] : 0xffffffff;
    u[d + 2 + 2 * c + j] = m;
  }
  return d;
}

/** The models of directory `d`, in key order. */
export function dirModels(u: Uint32Array, d: number): number[] {
  const c = u[d];
  return Array.from(u.subarray(d + 2 + 2 * c, d + 2 + 3 * c));
}

/** Index in directory `d` of the model that owns key (hi, lo). */
export function dirFind(u: Uint32Array, d: number, hi: number, lo: number): number {
  const c = u[d];
  const his = d + 2;
  const los = d + 2 + c;
  let l = 0;
  let r = c - 1;
  while (l < r) {
    const mid = (l + r) >>> 1;
    const h = u[his + mid];
    if (h < hi || (h === hi && u[los + mid] < lo)) l = mid + 1;
    else r = mid;
  }
  return l;
}

/** Model pointer at index `j` of directory `d`. */
export const dirModel = (u: Uint32Array, d: number, j: number): number => u[d + 2 + 2 * u[d] + j];

/**
 * First trained index i of model `m` with key[i] >= (hi, lo), or n. Scans linearly from the predicted
 * position (the error is usually far below eps, and a scan of neighbouring keys stays in one or two cache
 * lines) and falls back to a binary search over the rest of the model when the scan leaves the +-eps
 * window (prediction rounding, or a key routed here from outside the model's keys).
 */
export function lowerBound(u: Uint32Array, f64: Float64Array, m: number, hi: number, lo: number, eps: number): number {
  const n = u[m + M_N];
  if (n === 0) return 0;
  const x = diff64(hi, lo, u[m + M_FIRST_HI], u[m + M_FIRST_LO]);
  const pf = f64[(m + M_INTERCEPT) >>> 1] + f64[(m + M_SLOPE) >>> 1] * x;
  // Clamp as a double, then round to an int32 (`| 0`): keeps p a small integer for the optimizer (NaN -> 0).
  const p = pf >= n - 1 ? n - 1 : pf > 0 ? (pf + 0.5) | 0 : 0;
  // Touch the predicted record now: its cache miss then overlaps the key search's instead of following
  // it (the caller reads the record next, and it is almost always this line or a neighbour).
  SINK[0] = u[recAt(m, n) + 4 * p + R_LOCK];
  const k = m + M_KEYS;
  let h = u[k + 2 * p];
  if (h < hi || (h === hi && u[k + 2 * p + 1] < lo)) {
    const stop = p + eps + 2 < n ? p + eps + 2 : n;
    let i = p + 1;
    for (; i < stop; i++) {
      h = u[k + 2 * i];
      if (h > hi || (h === hi && u[k + 2 * i + 1] >= lo)) return i;
    }
    return i === n ? n : binarySearch(u, k, i, n, hi, lo); // key[i - 1] < target
  }
  const stop = p - eps - 1 > 0 ? p - eps - 1 : 0;
  let i = p;
  for (; i > stop; i--) {
    h = u[k + 2 * i - 2];
    if (h < hi || (h === hi && u[k + 2 * i - 1] < lo)) return i;
  }
  return i === 0 ? 0 : binarySearch(u, k, 0, i, hi, lo); // key[i] >= target
}

/** Sink of the prefetching read in lowerBound (a typed array: storing a u32 there allocates nothing). */
const SINK = new Uint32Array(1);

/** First index in [l, r] with key >= (hi, lo), given key[r] >= it or r = n (keys at word `k`). */
function binarySearch(u: Uint32Array, k: number, l: number, r: number, hi: number, lo: number): number {
  while (l < r) {
    const mid = (l + r) >>> 1;
    const h = u[k + 2 * mid];
    if (h < hi || (h === hi && u[k + 2 * mid + 1] < lo)) l = mid + 1;
    else r = mid;
  }
  return l;
}
