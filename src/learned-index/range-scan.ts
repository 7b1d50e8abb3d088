/**
 * Ascending range scans over one directory snapshot. Models of a directory cover disjoint key ranges in
 * order, and inside a model the order is slot 0, key 0, slot 1, key 1, ..., slot n, so walking a snapshot
 * gives keys in order without repeats; a scan moves on to the next model (and up out of sub-directories)
 * until it has `limit` keys or passes the end key. Each slot is copied under its seqlock and re-read when a
 * writer interfered. Retraining only freezes and replaces models, so a snapshot stays readable (its blocks
 * are reclaimed only after the scan leaves its epoch).
 */
import { Arena, H } from './arena.js';
import { binCollect } from './level-bin.js';
import { EpochMember, readBegin } from './epochs.js';
import { DEAD, dirFind, dirModel, lowerBound, M_KEYS, M_N, R_LOCK, R_SLOT, recAt, SLOT_DIR, SLOT_PAIR } from './model.js';
import { cmp64, PairRun } from './u64.js';

interface ScanState {
  a: Arena;
  eps: number;
  out: PairRun;
  /** Index in `out` where this scan's results start. */
  base: number;
  limit: number;
  fromHi: number;
  fromLo: number;
  endHi: number;
  endLo: number;
  done: boolean;
}

/**
 * Appends to `out` the pairs with from <= key <= end in ascending order, at most `limit` of them.
 * Returns how many were appended.
 */
export function scanRange(
  a: Arena, epochs: EpochMember, eps: number, out: PairRun, limit: number,
  fromHi: number, fromLo: number, endHi = 0xffffffff, endLo = 0xffffffff,
): number {
  if (limit <= 0 || cmp64(fromHi, fromLo, endHi, endLo) > 0) return 0;
  epochs.enter();
  try {
    const st: ScanState = { a, eps, out, base: out.length, limit, fromHi, fromLo, endHi, endLo, done: false };
    scanDir(st, Atomics.load(a.i32, H.ROOT));
    return out.length - st.base;
  } finally {
    epochs.exit();
  }
}

function scanDir(st: ScanState, d: number): void {
  st.a.ensure(d);
  const u = st.a.u32; // a directory's blocks are immutable: this view stays valid for it
  const c = u[d];
  for (let j = dirFind(u, d, st.fromHi, st.fromLo); j < c && !st.done; j++) scanModel(st, dirModel(u, d, j));
}

function scanModel(st: ScanState, m: number): void {
  const a = st.a;
  a.ensure(m);
  const n = a.u32[m + M_N];
  const rec = recAt(m, n);
  for (let i = lowerBound(a.u32, a.f64, m, st.fromHi, st.fromLo, st.eps); i <= n && !st.done; i++) {
    const r = rec + 4 * i;
    for (;;) {
      const v = readBegin(a.i32, r + R_LOCK);
      const mark = st.out.length;
      const s = a.u32[r + R_SLOT];
      if ((s & 3) === SLOT_DIR) {
        scanDir(st, s ^ SLOT_DIR); // installed sub-directories never change: no version to check
        if (st.done) return;
        while (!readKey(st, m, n, i, r, readBegin(a.i32, r + R_LOCK)));
        break;
      }
      if ((s & 3) === SLOT_PAIR) readPair(st, s ^ SLOT_PAIR);
      else if (s !== 0) {
        a.ensure(s);
        binCollect(a, s, st.out, st.fromHi, st.fromLo);
      }
      if (readKey(st, m, n, i, r, v)) break;
      st.out.length = mark;
    }
    trim(st);
  }
}

/** Appends the key of pair block `p` when it is >= from (the caller validates the version). */
function readPair(st: ScanState, p: number): void {
  st.a.ensure(p);
  const u = st.a.u32;
  const h = u[p];
  const l = u[p + 1];
  if (cmp64(h, l, st.fromHi, st.fromLo) >= 0) st.out.push(h, l, u[p + 2], u[p + 3]);
}

/** Appends trained key i if live and in range; false (nothing appended) when the version moved. */
function readKey(st: ScanState, m: number, n: number, i: number, r: number, v: number): boolean {
  if (v & 1) return false;
  const u = st.a.u32;
  let ok = false;
  let h = 0;
  let l = 0;
  let vh = 0;
  let vl = 0;
  if (i < n) {
    h = u[m + M_KEYS + 2 * i];
    l = u[m + M_KEYS + 2 * i + 1];
    ok = (v & DEAD) === 0 && cmp64(h, l, st.fromHi, st.fromLo) >= 0;
    vh = u[r];
    vl = u[r + 1];
  }
  if (Atomics.load(st.a.i32, r + R_LOCK) !== v) return false;
  if (ok) st.out.push(h, l, vh, vl);
  return true;
}

/** Drops what lies past the end key or the limit, and marks the scan done when either was reached. */
function trim(st: ScanState): void {
  const o = st.out;
  let k = o.length;
  while (k > st.base && cmp64(o.khi[k - 1], o.klo[k - 1], st.endHi, st.endLo) > 0) {
    k--;
    st.done = true;
  }
  if (k - st.base >= st.limit) {
    k = st.base + st.limit;
    st.done = true;
  }
  o.length = k;
}
