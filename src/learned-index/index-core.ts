/**
 * The operations of FINEdex on (hi, lo) u32 pairs: lookup, insert/update/upsert, remove and range scan over
 * the directory -> model -> slot -> (pair | level bin | sub-directory) structure in the arena. Readers take
 * no lock: they read a slot under its seqlock and retry when a writer interfered. Writers lock one slot at a
 * time, then check that the model they reached is not frozen by a retraining (if it is, they wait for the
 * new directory and start over). The first key of an empty gap goes into a 4-word pair block (no level bin
 * until a second key arrives). Retraining itself lives in `retrain.ts`.
 */
import { isNeurStoreError } from '../errors.js';
import { Arena, H } from './arena.js';
import { binCollect, binCount, binCreate, binGet, binInsert, binBlocks, binRemove, FULL, INSERTED } from './level-bin.js';
import { EpochMember, lockSlot, readBegin, unlockSlot } from './epochs.js';
import {
  buildDirectory, buildModels, DEAD, dirFind, dirModel, lowerBound, M_CHANGES, M_FROZEN, M_KEYS, M_N, PAIR_WORDS,
  R_LOCK, R_SLOT, recAt, SLOT_DIR, SLOT_PAIR,
} from './model.js';
import { scanRange } from './range-scan.js';
import { cmp64, PairRun } from './u64.js';
import { W_FOUND, W_GIVE_UP, WasmReader } from './wasm-reader.js';

/** Write modes and results. */
export const SET = 0;
export const INSERT = 1;
export const UPDATE = 2;
export const R_INSERTED = 0;
export const R_UPDATED = 1;
export const R_SKIPPED = 2;

/** Where a write landed: the record whose lock is held and the top-level model whose frozen flag governs it. */
interface Spot {
  top: number;
  model: number;
  n: number;
  i: number;
  /** Record word of position i (value, slot, lock). */
  rec: number;
}

/** True when trained key i of the model with keys at word `k` is (hi, lo). */
function keyIs(u: Uint32Array, k: number, i: number, hi: number, lo: number): boolean {
  return u[k + 2 * i] === hi && u[k + 2 * i + 1] === lo;
}

/** Keys per wasm batch call (the scratch block holds keys, values and results for this many). */
const BATCH = 256;
const SCRATCH_WORDS = 5 * BATCH;
/**
 * Changes a write counts toward its model's retraining when it turns a gap's pair into a level bin: a bin
 * costs 336 bytes, about 14 trained keys' worth, so gaps filling up with small bins bring the retraining
 * that compacts them into trained keys sooner.
 */
const BIN_WEIGHT = 8;
/** Pairs per wasm scan call (4 words each, in the same scratch block). */
const SCAN_CHUNK = 256;

export class IndexCore {
  readonly eps: number;
  readonly maxKeys: number;
  /**
   * Value of the last successful lookup: two words of this thread's epoch line in the arena, where the wasm
   * lookup writes it (the TS path writes it there too).
   */
  readonly out: Uint32Array;
  /** Word of this thread's epoch announcement. */
  private readonly ann: number;
  /** This thread's batch block for the wasm getMany (allocated on first use, freed by `release`). */
  private scratch = 0;
  /** Set when the last write turned a pair into a level bin (it then counts BIN_WEIGHT changes). */
  private binMade = false;
  private readonly spot: Spot = { top: 0, model: 0, n: 0, i: 0, rec: 0 };
  private readonly retireFn = (p: number, w: number): void => this.epochs.retire(p, w);
  /** Called after a write when the top model has seen enough changes to retrain (set by the index). */
  onRetrainDue: (top: number) => void = () => {};

  /** `reader`: the wasm lookup path over this arena, or null for the TS path only. */
  constructor(readonly arena: Arena, readonly epochs: EpochMember, readonly reader: WasmReader | null) {
    this.eps = arena.i32[H.EPSILON];
    this.maxKeys = arena.i32[H.MAX_MODEL_KEYS];
    this.ann = epochs.word;
    this.out = new Uint32Array(arena.sab, (this.ann + 2) * 4, 2);
  }

  /** Looks up (hi, lo); on a hit the value is in `out`. */
  get(hi: number, lo: number): boolean {
    if (this.reader !== null && this.epochs.idle) {
      const r = this.reader.get(hi, lo, this.ann, 1);
      if (r !== W_GIVE_UP) return r === W_FOUND;
    }
    return this.getTs(hi, lo);
  }

  /** The TS lookup (the fallback when wasm is not built, or gave up). */
  private getTs(hi: number, lo: number): boolean {
    this.epochs.enter();
    try {
      return this.getIn(hi, lo);
    } finally {
      this.epochs.exit();
    }
  }

  /**
   * Looks up keys.length / 2 keys given as (hi, lo) pairs: on a hit writes the value to values[2i],
   * values[2i + 1] and found[i] = 1, else found[i] = 0. Returns the number found. The wasm path touches
   * the lines of a group of keys before looking them up, so their cache misses overlap.
   */
  getMany(keys: Uint32Array, values: Uint32Array, found: Uint8Array): number {
    const n = keys.length >>> 1;
    const w = this.reader;
    const sk = w === null || !this.epochs.idle ? 0 : this.scratchBlock();
    if (w === null || sk === 0) return this.getManyTs(keys, values, found, 0, n);
    const so = sk + 2 * BATCH;
    const sr = sk + 4 * BATCH;
    let hits = 0;
    for (let from = 0; from < n; from += BATCH) {
      const c = Math.min(BATCH, n - from);
      this.arena.u32.set(keys.subarray(2 * from, 2 * (from + c)), sk);
      w.getMany(sk, c, so, sr, this.ann);
      const u = this.arena.u32;
      const i32 = this.arena.i32;
      for (let j = 0; j < c; j++) {
        const r = i32[sr + j];
        const i = from + j;
        if (r === W_FOUND) {
          values[2 * i] = u[so + 2 * j];
          values[2 * i + 1] = u[so + 2 * j + 1];
          found[i] = 1;
          hits++;
        } else if (r === W_GIVE_UP) hits += this.getManyTs(keys, values, found, i, i + 1);
        else found[i] = 0;
      }
    }
    return hits;
  }

  private getManyTs(keys: Uint32Array, values: Uint32Array, found: Uint8Array, from: number, to: number): number {
    let hits = 0;
    this.epochs.enter();
    try {
      for (let i = from; i < to; i++) {
        const hit = this.getIn(keys[2 * i], keys[2 * i + 1]);
        found[i] = hit ? 1 : 0;
        if (hit) {
          values[2 * i] = this.out[0];
          values[2 * i + 1] = this.out[1];
          hits++;
        }
      }
    } finally {
      this.epochs.exit();
    }
    return hits;
  }

  /**
   * Appends to `out` the pairs with from <= key <= end in ascending order, at most `limit`; returns how
   * many. The wasm path scans in chunks, each resuming after the last key of the one before.
   */
  scan(out: PairRun, limit: number, fromHi: number, fromLo: number, endHi: number, endLo: number): number {
    const w = this.reader;
    const sk = w === null || !this.epochs.idle ? 0 : this.scratchBlock();
    if (w === null || sk === 0) return scanRange(this.arena, this.epochs, this.eps, out, limit, fromHi, fromLo, endHi, endLo);
    let got = 0;
    let fh = fromHi;
    let fl = fromLo;
    while (got < limit && cmp64(fh, fl, endHi, endLo) <= 0) {
      const cap = Math.min(SCAN_CHUNK, limit - got);
      const c = w.scan(fh, fl, endHi, endLo, sk, cap, this.ann);
      if (c === W_GIVE_UP) return got + scanRange(this.arena, this.epochs, this.eps, out, limit - got, fh, fl, endHi, endLo);
      const u = this.arena.u32;
      for (let j = 0; j < c; j++) out.push(u[sk + 4 * j], u[sk + 4 * j + 1], u[sk + 4 * j + 2], u[sk + 4 * j + 3]);
      got += c;
      if (c < cap) break;
      // Resume after the last key (a chunk of `cap` pairs may have stopped short of the end).
      fh = u[sk + 4 * c - 4];
      fl = u[sk + 4 * c - 3];
      if (fl === 0xffffffff) {
        if (fh === 0xffffffff) break;
        fh++;
        fl = 0;
      } else fl++;
    }
    return got;
  }

  /** This thread's batch block for wasm calls, allocated on first use; 0 when the arena is full (use TS). */
  private scratchBlock(): number {
    if (this.scratch === 0) {
      try {
        this.scratch = this.arena.alloc(SCRATCH_WORDS);
      } catch (e) {
        if (!isNeurStoreError(e, 'NOT_SUPPORTED')) throw e;
      }
    }
    return this.scratch;
  }

  /** Frees this thread's batch block (before the handle closes). */
  release(): void {
    if (this.scratch !== 0) this.arena.free(this.scratch, SCRATCH_WORDS);
    this.scratch = 0;
  }

  private getIn(hi: number, lo: number): boolean {
    const a = this.arena;
    const out = this.out;
    let d = Atomics.load(a.i32, H.ROOT); // no refresh: ensure() on each pointer covers growth
    for (;;) {
      a.ensure(d);
      const m = dirModel(a.u32, d, dirFind(a.u32, d, hi, lo));
      a.ensure(m);
      const u = a.u32;
      const i32 = a.i32;
      const n = u[m + M_N];
      const i = lowerBound(u, a.f64, m, hi, lo, this.eps);
      const r = recAt(m, n) + 4 * i;
      const hit = i < n && keyIs(u, m + M_KEYS, i, hi, lo);
      // Atomic version reads (acquire): a plain first read would let weakly ordered CPUs read the data first.
      let v = Atomics.load(i32, r + R_LOCK);
      for (;; v = readBegin(a.i32, r + R_LOCK)) {
        if ((v & 1) === 1) v = readBegin(i32, r + R_LOCK); // a writer holds the slot: the slow path spins
        if (hit) {
          out[0] = u[r];
          out[1] = u[r + 1];
          if (Atomics.load(i32, r + R_LOCK) === v) return (v & DEAD) === 0;
          continue;
        }
        const s = u[r + R_SLOT];
        if (s === 0) return false;
        const tag = s & 3;
        if (tag === SLOT_DIR) {
          d = s ^ SLOT_DIR; // installed sub-directories never change
          break;
        }
        let ok: boolean;
        if (tag === SLOT_PAIR) {
          const p = s ^ SLOT_PAIR;
          a.ensure(p);
          const w = a.u32;
          ok = w[p] === hi && w[p + 1] === lo;
          if (ok) {
            out[0] = w[p + 2];
            out[1] = w[p + 3];
          }
        } else {
          a.ensure(s);
          ok = binGet(a, s, hi, lo, out);
        }
        if (Atomics.load(a.i32, r + R_LOCK) === v) return ok;
      }
    }
  }

  /** Writes value (vhi, vlo) at key (hi, lo) in `mode`; returns R_INSERTED, R_UPDATED or R_SKIPPED. */
  write(hi: number, lo: number, vhi: number, vlo: number, mode: number): number {
    const wasmSpot = this.wasmLockSpot(hi, lo);
    if (wasmSpot === null) this.epochs.enter();
    try {
      const sp = wasmSpot ?? this.lockSpot(hi, lo);
      let r: number;
      try {
        r = this.writeLocked(sp, hi, lo, vhi, vlo, mode);
      } finally {
        unlockSlot(this.arena.i32, sp.rec + R_LOCK);
      }
      if (r === R_INSERTED) this.noteChange(sp.top); // updates change no structure: they never cause retraining
      return r;
    } finally {
      this.epochs.exit();
    }
  }

  /** Removes (hi, lo); true when it was present. */
  remove(hi: number, lo: number): boolean {
    const wasmSpot = this.wasmLockSpot(hi, lo);
    if (wasmSpot === null) this.epochs.enter();
    try {
      const sp = wasmSpot ?? this.lockSpot(hi, lo);
      let found: boolean;
      try {
        found = this.removeLocked(sp, hi, lo);
      } finally {
        unlockSlot(this.arena.i32, sp.rec + R_LOCK);
      }
      if (found) this.noteChange(sp.top);
      return found;
    } finally {
      this.epochs.exit();
    }
  }

  /**
   * The descent of a write in wasm: the spot with its lock held and this thread's epoch announced (adopted,
   * so the caller's `exit` clears it), or null when the TS descent must run (no wasm, nested in another
   * operation, a frozen model, or a slot held too long), with nothing held.
   */
  private wasmLockSpot(hi: number, lo: number): Spot | null {
    if (this.reader === null || !this.epochs.idle) return null;
    const rec = this.reader.lockSpot(hi, lo, this.ann);
    if (rec === 0) return null;
    this.epochs.adopt();
    const a = this.arena;
    a.sync(); // everything reachable from the slot was published before we got the lock
    const u = a.u32;
    const sp = this.spot;
    sp.top = u[this.ann + 4];
    sp.model = u[this.ann + 5];
    sp.n = u[this.ann + 6];
    sp.i = u[this.ann + 7];
    sp.rec = rec;
    return sp;
  }

  private noteChange(top: number): void {
    const i32 = this.arena.i32;
    const weight = this.binMade ? BIN_WEIGHT : 1;
    this.binMade = false;
    const before = i32[top + M_CHANGES];
    const changes = before + weight;
    i32[top + M_CHANGES] = changes; // plain: a count lost to a race only delays a retraining
    const due = Math.max(256, i32[top + M_N]);
    // Signal once on reaching `due`, then every 256 changes while the retraining has not happened.
    if (changes >= due && (before < due || changes >>> 8 !== before >>> 8)) this.onRetrainDue(top);
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
        const i = lowerBound(u, a.f64, m, hi, lo, this.eps);
        const r = recAt(m, n) + 4 * i;
        lockSlot(a.i32, r + R_LOCK);
        a.sync(); // everything reachable from the slot was published before we got the lock
        if (Atomics.load(a.i32, top + M_FROZEN) !== 0) {
          unlockSlot(a.i32, r + R_LOCK);
          Atomics.wait(a.i32, H.ROOT, root, 1);
          break;
        }
        const s = a.u32[r + R_SLOT];
        if ((s & 3) === SLOT_DIR && !(i < n && keyIs(u, m + M_KEYS, i, hi, lo))) {
          unlockSlot(a.i32, r + R_LOCK);
          d = s ^ SLOT_DIR;
          continue;
        }
        sp.top = top;
        sp.model = m;
        sp.n = n;
        sp.i = i;
        sp.rec = r;
        return sp;
      }
    }
  }

  private writeLocked(sp: Spot, hi: number, lo: number, vhi: number, vlo: number, mode: number): number {
    const a = this.arena;
    let u = a.u32;
    const { model: m, n, i, rec: r } = sp;
    if (i < n && keyIs(u, m + M_KEYS, i, hi, lo)) {
      const present = (a.i32[r + R_LOCK] & DEAD) === 0;
      if ((present && mode === INSERT) || (!present && mode === UPDATE)) return R_SKIPPED;
      u[r] = vhi;
      u[r + 1] = vlo;
      if (present) return R_UPDATED;
      Atomics.and(a.i32, r + R_LOCK, ~DEAD);
      this.epochs.count(1);
      return R_INSERTED;
    }
    const s = u[r + R_SLOT];
    if (s === 0) {
      if (mode === UPDATE) return R_SKIPPED;
      const p = a.allocPair();
      u = a.u32;
      u[p] = hi;
      u[p + 1] = lo;
      u[p + 2] = vhi;
      u[p + 3] = vlo;
      u[r + R_SLOT] = p | SLOT_PAIR; // plain: readers validate with the seqlock, whose release is atomic
      this.epochs.count(1);
      return R_INSERTED;
    }
    if ((s & 3) === SLOT_PAIR) return this.writePair(r, s ^ SLOT_PAIR, hi, lo, vhi, vlo, mode);
    if (mode !== SET && binGet(a, s, hi, lo, this.out) !== (mode === UPDATE)) return R_SKIPPED;
    const res = binInsert(a, s, hi, lo, vhi, vlo);
    if (res === FULL) this.retrainBin(r + R_SLOT, s, hi, lo, vhi, vlo);
    if (res === FULL || res === INSERTED) {
      this.epochs.count(1);
      return R_INSERTED;
    }
    return R_UPDATED;
  }

  /** A write into a slot holding pair block `p`: update it in place, or turn it into a two-key level bin. */
  private writePair(r: number, p: number, hi: number, lo: number, vhi: number, vlo: number, mode: number): number {
    const a = this.arena;
    const u = a.u32;
    if (u[p] === hi && u[p + 1] === lo) {
      if (mode === INSERT) return R_SKIPPED;
      u[p + 2] = vhi;
      u[p + 3] = vlo;
      return R_UPDATED;
    }
    if (mode === UPDATE) return R_SKIPPED;
    const b = binCreate(a, u[p], u[p + 1], u[p + 2], u[p + 3]);
    this.binMade = true;
    binInsert(a, b, hi, lo, vhi, vlo);
    Atomics.store(a.i32, r + R_SLOT, b); // readers see the pair or the complete bin, never a half
    this.epochs.retire(p, PAIR_WORDS);
    this.epochs.count(1);
    return R_INSERTED;
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
    Atomics.store(a.i32, sw, d | SLOT_DIR);
    Atomics.add(a.i32, H.BIN_RETRAINS, 1);
    binBlocks(a.u32, b, this.retireFn);
  }

  private removeLocked(sp: Spot, hi: number, lo: number): boolean {
    const a = this.arena;
    const u = a.u32;
    const { model: m, n, i, rec: r } = sp;
    if (i < n && keyIs(u, m + M_KEYS, i, hi, lo)) {
      if ((a.i32[r + R_LOCK] & DEAD) !== 0) return false;
      Atomics.or(a.i32, r + R_LOCK, DEAD);
      this.epochs.count(-1);
      return true;
    }
    const s = u[r + R_SLOT];
    if (s === 0) return false;
    if ((s & 3) === SLOT_PAIR) {
      const p = s ^ SLOT_PAIR;
      if (u[p] !== hi || u[p + 1] !== lo) return false;
      Atomics.store(a.i32, r + R_SLOT, 0);
      this.epochs.retire(p, PAIR_WORDS);
    } else {
      if (!binRemove(a, s, hi, lo, this.retireFn)) return false;
      if (binCount(u, s) === 0) {
        Atomics.store(a.i32, r + R_SLOT, 0);
        binBlocks(u, s, this.retireFn);
      }
    }
    this.epochs.count(-1);
    return true;
  }
}
