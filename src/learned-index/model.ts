/**
 * Models and directories in the arena.
 *
 * A directory is the top-level array of each model's last key: [count, pad, lastHi[c], lastLo[c], model[c]].
 * A key routes to the first model whose last key is >= it (the last model takes everything above).
 * A model is a linear function over an immutable trained array, plus one lazily filled slot per gap:
 *   0 n | 1 frozen | 2 changes since training | 3 pad | 4-5 slope f64 | 6-7 intercept f64 | 8 firstHi | 9 firstLo
 *   10: key[n] as (hi, lo) pairs, value[n] as (hi, lo) pairs, valid[n], slot[n+1], lock[n+1]
 * (pairs are interleaved so a probe or a hit touches one cache line, not two)
 * Slot i holds the keys between trained keys i-1 and i (slot n: above the last key); lock i is the seqlock
 * that guards slot i together with trained key i's value and valid flag. A slot word is 0 (empty), a level
 * bin pointer (even), or a sub-directory pointer | 1 (the bin was retrained into child models).
 */
import type { Arena } from './arena.js';
import { fitSegments } from './pla-fit.js';
import { cmp64, diff64, PairRun } from './u64.js';

export const M_N = 0;
export const M_FROZEN = 1;
export const M_CHANGES = 2;
const M_SLOPE = 4;
const M_INTERCEPT = 6;
const M_FIRST_HI = 8;
const M_FIRST_LO = 9;
export const M_KEYS = 10;

export const modelWords = (n: number): number => 12 + 7 * n;
export const dirWords = (c: number): number => 2 + 3 * c;

/** Column offsets of model `m` with `n` trained keys. */
export const valAt = (m: number, n: number): number => m + M_KEYS + 2 * n;
export const validAt = (m: number, n: number): number => m + M_KEYS + 4 * n;
export const slotAt = (m: number, n: number): number => m + M_KEYS + 5 * n;
export const lockAt = (m: number, n: number): number => m + M_KEYS + 6 * n + 1;

/** Builds one model from keys [from, to) of `run` with a fitted line. */
function buildModel(a: Arena, run: PairRun, from: number, to: number, slope: number, intercept: number): number {
  const n = to - from;
  const m = a.alloc(modelWords(n));
  const u = a.u32;
  u[m + M_N] = n;
  a.f64[(m + M_SLOPE) >>> 1] = slope;
  a.f64[(m + M_INTERCEPT) >>> 1] = intercept;
  if (n > 0) {
    u[m + M_FIRST_HI] = run.khi[from];
    u[m + M_FIRST_LO] = run.klo[from];
  }
  const k = m + M_KEYS;
  const v = valAt(m, n);
  for (let i = 0; i < n; i++) {
    u[k + 2 * i] = run.khi[from + i];
    u[k + 2 * i + 1] = run.klo[from + i];
    u[v + 2 * i] = run.vhi[from + i];
    u[v + 2 * i + 1] = run.vlo[from + i];
  }
  u.fill(1, validAt(m, n), validAt(m, n) + n);
  return m;
}

/**
 * Fits and builds the models for keys [from, to) of `run` (strictly ascending). An empty range gives one
 * empty model so that inserts always have a home. Returns the model pointers in key order.
 */
export function buildModels(a: Arena, run: PairRun, eps: number, maxKeys: number, from = 0, to = run.length): number[] {
  if (to <= from) return [buildModel(a, run, 0, 0, 0, 0)];
  return fitSegments(run, eps, maxKeys, from, to).map((s) => buildModel(a, run, s.start, s.end, s.slope, s.intercept));
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
 * First trained index i of model `m` with key[i] >= (hi, lo), or n. Searches the predicted window of +-eps
 * and widens to the whole array when the window's ends show the key is outside (prediction rounding, or a
 * key routed here from below the model's first key).
 */
export function lowerBound(a: Arena, m: number, hi: number, lo: number, eps: number): number {
  const u = a.u32;
  const n = u[m + M_N];
  if (n === 0) return 0;
  const x = diff64(hi, lo, u[m + M_FIRST_HI], u[m + M_FIRST_LO]);
  const p = Math.round(a.f64[(m + M_INTERCEPT) >>> 1] + a.f64[(m + M_SLOPE) >>> 1] * x);
  const kh = m + M_KEYS;
  let l = p - eps - 1 < 0 ? 0 : p - eps - 1;
  let r = p + eps + 1 > n ? n : p + eps + 1;
  if (l >= n) l = n;
  if (r < 0) r = 0;
  // Invariant wanted: key[l-1] < target (or l = 0) and key[r] >= target (or r = n).
  if (l > 0 && cmp64(u[kh + 2 * l - 2], u[kh + 2 * l - 1], hi, lo) >= 0) l = 0;
  if (r < n && cmp64(u[kh + 2 * r], u[kh + 2 * r + 1], hi, lo) < 0) r = n;
  if (l > r) l = 0;
  while (l < r) {
    const mid = (l + r) >>> 1;
    const h = u[kh + 2 * mid];
    if (h < hi || (h === hi && u[kh + 2 * mid + 1] < lo)) l = mid + 1;
    else r = mid;
  }
  return l;
}
