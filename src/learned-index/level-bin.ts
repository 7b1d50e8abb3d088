/**
 * The level bin: the insert buffer of one gap between trained keys, a two-level B+-tree-like node that never
 * grows a third level. The root holds up to M children (their first keys act as separators) and each child
 * up to N sorted entries. Inserts that find their child full first move an entry to the previous child,
 * then split the child, then move an entry to the next child; when none applies the bin reports FULL and
 * the caller retrains it into child models (level-bin retraining).
 *
 * Layout: root (19 words) = [nChildren, count[M], child[M]]; child (64 words) = keyHi[N] keyLo[N] valHi[N] valLo[N].
 * Callers hold the slot's seqlock for writes; readers copy under the seqlock and validate.
 */
import type { Arena } from './arena.js';
import { PairRun } from './u64.js';

export const BIN_M = 8 + 1; // children (the root's m = 8 separator keys split 9 children)
export const BIN_N = 16;
export const BIN_ROOT_WORDS = 1 + 2 * BIN_M;
export const BIN_CHILD_WORDS = 64;
export const BIN_CAPACITY = BIN_M * BIN_N;

export const INSERTED = 0;
export const UPDATED = 1;
export const FULL = 2;

const cnt = (b: number, c: number): number => b + 1 + c;
const ptr = (b: number, c: number): number => b + 1 + BIN_M + c;

/** A new bin holding one entry. */
export function binCreate(a: Arena, khi: number, klo: number, vhi: number, vlo: number): number {
  const b = a.alloc(BIN_ROOT_WORDS);
  const ch = a.alloc(BIN_CHILD_WORDS);
  const u = a.u32;
  u[b] = 1;
  u[cnt(b, 0)] = 1;
  u[ptr(b, 0)] = ch;
  u[ch] = khi;
  u[ch + 16] = klo;
  u[ch + 32] = vhi;
  u[ch + 48] = vlo;
  return b;
}

/** Child index that owns (hi, lo): the last child whose first key is <= it, or 0. */
function childFor(a: Arena, b: number, hi: number, lo: number): number {
  const u = a.u32;
  let nc = u[b];
  if (nc > BIN_M) nc = BIN_M; // torn read by an optimistic reader: the version check will retry
  let c = 0;
  for (let j = 1; j < nc; j++) {
    const ch = u[ptr(b, j)];
    a.ensure(ch);
    const h = a.u32[ch];
    if (h > hi || (h === hi && a.u32[ch + 16] > lo)) break;
    c = j;
  }
  return c;
}

/** Position of (hi, lo) in child `ch` of `count` entries: index if present, else -(insertion point) - 1. */
function findIn(u: Uint32Array, ch: number, count: number, hi: number, lo: number): number {
  for (let i = 0; i < count; i++) {
    const h = u[ch + i];
    const l = u[ch + 16 + i];
    if (h === hi && l === lo) return i;
    if (h > hi || (h === hi && l > lo)) return -i - 1;
  }
  return -count - 1;
}

/** Looks up (hi, lo); on a hit writes the value to out[0], out[1] and returns true. Optimistic-read safe. */
export function binGet(a: Arena, b: number, hi: number, lo: number, out: Uint32Array): boolean {
  const c = childFor(a, b, hi, lo);
  const ch = a.u32[ptr(b, c)];
  a.ensure(ch);
  const u = a.u32;
  let n = u[cnt(b, c)];
  if (n > BIN_N) n = BIN_N;
  const i = findIn(u, ch, n, hi, lo);
  if (i < 0) return false;
  out[0] = u[ch + 32 + i];
  out[1] = u[ch + 48 + i];
  return true;
}

function shiftRight(u: Uint32Array, ch: number, from: number, count: number): void {
  for (let col = 0; col < 64; col += 16) u.copyWithin(ch + col + from + 1, ch + col + from, ch + col + count);
}

function shiftLeft(u: Uint32Array, ch: number, from: number, count: number): void {
  for (let col = 0; col < 64; col += 16) u.copyWithin(ch + col + from, ch + col + from + 1, ch + col + count);
}

function put(u: Uint32Array, ch: number, i: number, e: ArrayLike<number>): void {
  u[ch + i] = e[0];
  u[ch + 16 + i] = e[1];
  u[ch + 32 + i] = e[2];
  u[ch + 48 + i] = e[3];
}

function take(u: Uint32Array, ch: number, i: number): number[] {
  return [u[ch + i], u[ch + 16 + i], u[ch + 32 + i], u[ch + 48 + i]];
}

/** Inserts into child c at sorted position (room is guaranteed). */
function insertAt(u: Uint32Array, b: number, c: number, e: ArrayLike<number>): void {
  const ch = u[ptr(b, c)];
  const n = u[cnt(b, c)];
  const pos = -findIn(u, ch, n, e[0], e[1]) - 1;
  shiftRight(u, ch, pos, n);
  put(u, ch, pos, e);
  u[cnt(b, c)] = n + 1;
}

/** Inserts or updates; returns INSERTED, UPDATED or FULL (bin unchanged). Caller holds the slot lock. */
export function binInsert(a: Arena, b: number, khi: number, klo: number, vhi: number, vlo: number): number {
  const u = a.u32;
  const c = childFor(a, b, khi, klo);
  const ch = u[ptr(b, c)];
  const n = u[cnt(b, c)];
  const at = findIn(u, ch, n, khi, klo);
  if (at >= 0) {
    u[ch + 32 + at] = vhi;
    u[ch + 48 + at] = vlo;
    return UPDATED;
  }
  const e = [khi, klo, vhi, vlo];
  if (n < BIN_N) insertAt(u, b, c, e);
  else if (c > 0 && u[cnt(b, c - 1)] < BIN_N && -at - 1 > 0) {
    // Prefer the previous child: move our smallest entry there (it stays above the previous child's keys).
    const first = take(u, ch, 0);
    shiftLeft(u, ch, 0, n);
    u[cnt(b, c)] = n - 1;
    put(u, u[ptr(b, c - 1)], u[cnt(b, c - 1)], first);
    u[cnt(b, c - 1)]++;
    insertAt(u, b, c, e);
  } else if (u[b] < BIN_M) splitChild(a, b, c, e);
  else if (c + 1 < u[b] && u[cnt(b, c + 1)] < BIN_N) {
    const last = take(u, ch, n - 1);
    const goesNext = last[0] < khi || (last[0] === khi && last[1] < klo);
    if (!goesNext) {
      u[cnt(b, c)] = n - 1;
      insertAt(u, b, c, e);
    }
    const nx = u[ptr(b, c + 1)];
    shiftRight(u, nx, 0, u[cnt(b, c + 1)]);
    put(u, nx, 0, goesNext ? e : last);
    u[cnt(b, c + 1)]++;
  } else return FULL;
  return INSERTED;
}

/** Splits full child c into two halves, then inserts e into the half that owns it. */
function splitChild(a: Arena, b: number, c: number, e: ArrayLike<number>): void {
  const fresh = a.alloc(BIN_CHILD_WORDS);
  const u = a.u32;
  const nc = u[b];
  for (let j = nc; j > c + 1; j--) {
    u[ptr(b, j)] = u[ptr(b, j - 1)];
    u[cnt(b, j)] = u[cnt(b, j - 1)];
  }
  const ch = u[ptr(b, c)];
  const half = BIN_N >>> 1;
  for (let col = 0; col < 64; col += 16) u.set(u.subarray(ch + col + half, ch + col + BIN_N), fresh + col);
  u[ptr(b, c + 1)] = fresh;
  u[cnt(b, c + 1)] = BIN_N - half;
  u[cnt(b, c)] = half;
  u[b] = nc + 1;
  const toNew = e[0] > u[fresh] || (e[0] === u[fresh] && e[1] > u[fresh + 16]);
  insertAt(u, b, toNew ? c + 1 : c, e);
}

/**
 * Removes (hi, lo); returns true when it was present. An emptied child is unlinked (and passed to
 * `retire`) unless it is the last one; the caller frees the bin when its total count reaches 0.
 */
export function binRemove(a: Arena, b: number, hi: number, lo: number, retire: (p: number, w: number) => void): boolean {
  const u = a.u32;
  const c = childFor(a, b, hi, lo);
  const ch = u[ptr(b, c)];
  const n = u[cnt(b, c)];
  const at = findIn(u, ch, n, hi, lo);
  if (at < 0) return false;
  shiftLeft(u, ch, at, n);
  u[cnt(b, c)] = n - 1;
  const nc = u[b];
  if (n - 1 === 0 && nc > 1) {
    for (let j = c; j < nc - 1; j++) {
      u[ptr(b, j)] = u[ptr(b, j + 1)];
      u[cnt(b, j)] = u[cnt(b, j + 1)];
    }
    u[b] = nc - 1;
    retire(ch, BIN_CHILD_WORDS);
  }
  return true;
}

/** Entries in the bin (caller holds the lock, or validates the version after). */
export function binCount(u: Uint32Array, b: number): number {
  let s = 0;
  const nc = Math.min(u[b], BIN_M);
  for (let c = 0; c < nc; c++) s += u[cnt(b, c)];
  return s;
}

/**
 * Appends the bin's entries with key >= (fromHi, fromLo) in ascending order to `out`; returns how many.
 * Safe for optimistic readers (counts are clamped); callers validate the version and truncate on retry.
 */
export function binCollect(a: Arena, b: number, out: PairRun, fromHi = 0, fromLo = 0): number {
  const start = out.length;
  const nc = Math.min(a.u32[b], BIN_M);
  for (let c = 0; c < nc; c++) {
    const ch = a.u32[ptr(b, c)];
    a.ensure(ch);
    const u = a.u32;
    const n = Math.min(u[cnt(b, c)], BIN_N);
    for (let i = 0; i < n; i++) {
      const h = u[ch + i];
      const l = u[ch + 16 + i];
      if (h < fromHi || (h === fromHi && l < fromLo)) continue;
      out.push(h, l, u[ch + 32 + i], u[ch + 48 + i]);
    }
  }
  return out.length - start;
}

/** Passes every block of the bin (children and root) to `retire`. */
export function binBlocks(u: Uint32Array, b: number, retire: (p: number, w: number) => void): void {
  for (let c = 0; c < u[b]; c++) retire(u[ptr(b, c)], BIN_CHILD_WORDS);
  retire(b, BIN_ROOT_WORDS);
}
