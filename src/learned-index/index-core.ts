/**
 * The operations of FINEdex on (hi, lo) u32 pairs: lookup, insert/update/upsert, remove and range scan over
 * the directory -> model -> slot -> (level bin | sub-directory) structure in the arena. Readers take no lock:
 * they read a slot under its seqlock and retry when a writer interfered. Writers lock one slot at a time,
 * then check that the model they reached is not frozen by a retraining (if it is, they wait for the new
 * directory and start over). Retraining itself lives in `retrain.ts`.
 */
import { Arena, H } from './arena.js';
import { binCollect, binCount, binCreate, binGet, binInsert, binBlocks, binRemove, FULL, INSERTED } from './level-bin.js';
import { EpochMember, lockSlot, readBegin, unlockSlot } from './epochs.js';
import {
  buildDirectory, buildModels, dirFind, dirModel, lockAt, lowerBound, M_CHANGES, M_FROZEN, M_KEYS, M_N, slotAt,
  validAt, valAt,
} from './model.js';
import { cmp64, PairRun } from './u64.js';

/** Write modes and results. */
export const SET = 0;
export const INSERT = 1;
export const UPDATE = 2;
export const R_INSERTED = 0;
export const R_UPDATED = 1;
export const R_SKIPPED = 2;

/** Where a write landed: the slot lock held and the top-level model whose frozen flag governs it. */
interface Spot {
  top: number;
  model: number;
  n: number;
  i: number;
  lock: number;
}

export class IndexCore {
  readonly eps: number;
  readonly maxKeys: number;
  /** Value of the last successful lookup. */
  readonly out = new Uint32Array(2);
  private readonly spot: Spot = { top: 0, model: 0, n: 0, i: 0, lock: 0 };
  private readonly retireFn = (p: number, w: number): void => this.epochs.retire(p, w);
  /** Called after a write when the top model has seen enough changes to retrain (set by the index). */
  onRetrainDue: (top: number) => void = () => {};

  constructor(readonly arena: Arena, readonly epochs: EpochMember) {
    this.eps = arena.i32[H.EPSILON];
    this.maxKeys = arena.i32[H.MAX_MODEL_KEYS];
  }

  /** Looks up (hi, lo); on a hit the value is in `out`. */
  get(hi: number, lo: number): boolean {
    const a = this.arena;
    this.epochs.enter();
    try {
      let d = Atomics.load(a.i32, H.ROOT); // no refresh: ensure() on each pointer covers growth
      for (;;) {
        a.ensure(d);
        const m = dirModel(a.u32, d, dirFind(a.u32, d, hi, lo));
        a.ensure(m);
        const u = a.u32;
        const n = u[m + M_N];
        const i = lowerBound(a, m, hi, lo, this.eps);
        const w = lockAt(m, n) + i;
        const hit = i < n && u[m + M_KEYS + 2 * i] === hi && u[m + M_KEYS + 2 * i + 1] === lo;
        for (;;) {
          let v = Atomics.load(a.i32, w);
          if ((v & 1) === 1) v = readBegin(a.i32, w); // a writer holds the slot: the slow path spins
          if (hit) {
            const ok = u[validAt(m, n) + i] === 1;
            this.out[0] = u[valAt(m, n) + 2 * i];
            this.out[1] = u[valAt(m, n) + 2 * i + 1];
            if (Atomics.load(a.i32, w) === v) return ok;
            continue;
          }
          const s = u[slotAt(m, n) + i];
          if (s === 0 || (s & 1) === 1) {
            if (s === 0) return false;
            d = s ^ 1;
            a.ensure(d);
            break;
          }
          a.ensure(s);
          const ok = binGet(a, s, hi, lo, this.out);
          if (Atomics.load(a.i32, w) === v) return ok;
        }
      }
    } finally {
      this.epochs.exit();
    }
  }

  /** Writes value (vhi, vlo) at key (hi, lo) in `mode`; returns R_INSERTED, R_UPDATED or R_SKIPPED. */
  write(hi: number, lo: number, vhi: number, vlo: number, mode: number): number {
    this.epochs.enter();
    try {
      const sp = this.lockSpot(hi, lo);
      let r: number;
      try {
        r = this.writeLocked(sp, hi, lo, vhi, vlo, mode);
      } finally {
        unlockSlot(this.arena.i32, sp.lock);
      }
      if (r !== R_SKIPPED) this.noteChange(sp.top);
      return r;
    } finally {
      this.epochs.exit();
    }
  }

  /** Removes (hi, lo); true when it was present. */
  remove(hi: number, lo: number): boolean {
    this.epochs.enter();
    try {
      const sp = this.lockSpot(hi, lo);
      let found: boolean;
      try {
        found = this.removeLocked(sp, hi, lo);
      } finally {
        unlockSlot(this.arena.i32, sp.lock);
      }
      if (found) this.noteChange(sp.top);
      return found;
    } finally {
      this.epochs.exit();
    }
  }

  private noteChange(top: number): void {
    const i32 = this.arena.i32;
    const changes = Atomics.add(i32, top + M_CHANGES, 1) + 1;
    const due = Math.max(256, i32[top + M_N]);
    if (changes >= due && (changes === due || (changes & 255) === 0)) this.onRetrainDue(top);
  }

  /**
   * Descends to the slot that owns (hi, lo) and returns with its lock held, the model not frozen and the
   * slot not a sub-directory.
   */
  private lockSpot(hi: number, lo: number): Spot {
    const a = this.arena;
    const sp = this.spot;
    for (;;) {
      const root = Atomics.load(a.i32, H.ROOT);
      let d = root;
      let top = 0;
      for (;;) {
        a.ensure(d);
        const m = dirModel(a.u32, d, dirFind(a.u32, d, hi, lo));
        a.ensure(m);
        const u = a.u32;
        if (top === 0) top = m;
        const n = u[m + M_N];
        const i = lowerBound(a, m, hi, lo, this.eps);
        const w = lockAt(m, n) + i;
        lockSlot(a.i32, w);
        a.refresh(); // everything reachable from the slot was published before we got the lock
        if (Atomics.load(a.i32, top + M_FROZEN) !== 0) {
          unlockSlot(a.i32, w);
          Atomics.wait(a.i32, H.ROOT, root, 1);
          break;
        }
        const s = a.u32[slotAt(m, n) + i];
        if ((s & 1) === 1 && !(i < n && u[m + M_KEYS + 2 * i] === hi && u[m + M_KEYS + 2 * i + 1] === lo)) {
          unlockSlot(a.i32, w);
          d = s ^ 1;
          continue;
        }
        sp.top = top;
        sp.model = m;
        sp.n = n;
        sp.i = i;
        sp.lock = w;
        return sp;
      }
    }
  }

  private writeLocked(sp: Spot, hi: number, lo: number, vhi: number, vlo: number, mode: number): number {
    const a = this.arena;
    const u = a.u32;
    const { model: m, n, i } = sp;
    if (i < n && u[m + M_KEYS + 2 * i] === hi && u[m + M_KEYS + 2 * i + 1] === lo) {
      const present = u[validAt(m, n) + i] === 1;
      if ((present && mode === INSERT) || (!present && mode === UPDATE)) return R_SKIPPED;
      u[valAt(m, n) + 2 * i] = vhi;
      u[valAt(m, n) + 2 * i + 1] = vlo;
      u[validAt(m, n) + i] = 1;
      if (!present) Atomics.add(a.i32, H.SIZE, 1);
      return present ? R_UPDATED : R_INSERTED;
    }
    const sw = slotAt(m, n) + i;
    const s = u[sw];
    if (s === 0) {
      if (mode === UPDATE) return R_SKIPPED;
      Atomics.store(a.i32, sw, binCreate(a, hi, lo, vhi, vlo));
      Atomics.add(a.i32, H.SIZE, 1);
      return R_INSERTED;
    }
    if (mode !== SET && binGet(a, s, hi, lo, this.out) !== (mode === UPDATE)) return R_SKIPPED;
    const r = binInsert(a, s, hi, lo, vhi, vlo);
    if (r === FULL) this.retrainBin(sw, s, hi, lo, vhi, vlo);
    if (r === FULL || r === INSERTED) {
      Atomics.add(a.i32, H.SIZE, 1);
      return R_INSERTED;
    }
    return R_UPDATED;
  }

  /** Level-bin retraining: replaces full bin `b` (plus the new entry) by child models, under the slot lock. */
  private retrainBin(sw: number, b: number, hi: number, lo: number, vhi: number, vlo: number): void {
    const a = this.arena;
    const run = new PairRun(binCount(a.u32, b) + 1);
    const tmp = new PairRun(run.khi.length);
    binCollect(a, b, tmp);
    let k = 0;
    while (k < tmp.length && cmp64(tmp.khi[k], tmp.klo[k], hi, lo) < 0) {
      run.push(tmp.khi[k], tmp.klo[k], tmp.vhi[k], tmp.vlo[k]);
      k++;
    }
    run.push(hi, lo, vhi, vlo);
    for (; k < tmp.length; k++) run.push(tmp.khi[k], tmp.klo[k], tmp.vhi[k], tmp.vlo[k]);
    const d = buildDirectory(a, buildModels(a, run, this.eps, this.maxKeys));
    Atomics.store(a.i32, sw, d | 1);
    Atomics.add(a.i32, H.BIN_RETRAINS, 1);
    binBlocks(a.u32, b, this.retireFn);
  }

  private removeLocked(sp: Spot, hi: number, lo: number): boolean {
    const a = this.arena;
    const u = a.u32;
    const { model: m, n, i } = sp;
    if (i < n && u[m + M_KEYS + 2 * i] === hi && u[m + M_KEYS + 2 * i + 1] === lo) {
      if (u[validAt(m, n) + i] !== 1) return false;
      u[validAt(m, n) + i] = 0;
      Atomics.sub(a.i32, H.SIZE, 1);
      return true;
    }
    const sw = slotAt(m, n) + i;
    const s = u[sw];
    if (s === 0 || !binRemove(a, s, hi, lo, this.retireFn)) return false;
    if (binCount(u, s) === 0) {
      Atomics.store(a.i32, sw, 0);
      binBlocks(u, s, this.retireFn);
    }
    Atomics.sub(a.i32, H.SIZE, 1);
    return true;
  }
}
