// FINEdex in wasm over the index's own shared memory (compiled with --importMemory --sharedMemory):
// lookups (one key and batches), range scans, and the descent of writes (find the slot, lock it).
//
// Same algorithm and layout as src/learned-index/index-core.ts (getIn, lockSpot), range-scan.ts,
// model.ts (dirFind, lowerBound) and level-bin.ts (binGet, binCollect): every argument and pointer is a u32
// word offset into the arena. What wasm buys is the cost of the protocol: Node 20 does not inline JS
// `Atomics` (15-25 ns a call), while here an atomic load is a plain load and the epoch announcement one
// store. Results are identical to the TS path (tests compare them); anything that looks torn or that spins
// too long returns GIVE_UP (or 0 from lockSpot) and the caller repeats the operation on the TS path, so
// wasm never traps on a pointer read mid-update and never spins forever.
//
// Constants mirror arena.ts (H), model.ts (M_*, R_*, SLOT_*) and level-bin.ts (BIN_*): keep them in step.

const H_ROOT: u32 = 1;
const H_EPOCH: u32 = 2;
const M_N: u32 = 0;
const M_FROZEN: u32 = 1;
const M_SLOPE: u32 = 4;
const M_INTERCEPT: u32 = 6;
const M_FIRST_HI: u32 = 8;
const M_FIRST_LO: u32 = 9;
const M_KEYS: u32 = 32;
const R_SLOT: u32 = 2;
const R_LOCK: u32 = 3;
const DEAD: u32 = 2;
const SLOT_DIR: u32 = 1;
const SLOT_PAIR: u32 = 2;
const BIN_M: u32 = 9;
const BIN_N: u32 = 16;
const BIN_CHILD_WORDS: u32 = 64;
const MODEL_HEADER_WORDS: u32 = 32;

const FOUND: i32 = 1;
const ABSENT: i32 = 0;
const GIVE_UP: i32 = -1;
const MAX_SPINS: i32 = 4096;
const MAX_DEPTH: i32 = 64;

// The value of the last hit (copied to the caller's out words on success).
let valHi: u32 = 0;
let valLo: u32 = 0;
/** Sink of prefetching reads (a global, so the optimizer keeps the loads). */
let sink: u32 = 0;

@inline function word(p: u32): u32 {
  return load<u32>(<usize>p << 2);
}

@inline function lockWord(p: u32): u32 {
  return atomic.load<u32>(<usize>p << 2);
}

/** Arena size in words: a pointer (plus its block) must lie below it before it is followed. */
@inline function words(): u32 {
  return <u32>memory.size() << 14;
}

@inline function less(h: u32, l: u32, hi: u32, lo: u32): bool {
  return h < hi || (h == hi && l < lo);
}

/** First record word of model m with n trained keys (model.ts recAt). */
@inline function recAt(m: u32, n: u32): u32 {
  return m + M_KEYS + ((2 * n + 3) & ~3);
}

/** Predicted position of (hi, lo) in model m (n > 0 trained keys), clamped to [0, n - 1]. */
@inline function predict(m: u32, n: u32, hi: u32, lo: u32): u32 {
  const x = (<f64>hi - <f64>word(m + M_FIRST_HI)) * 4294967296.0 + (<f64>lo - <f64>word(m + M_FIRST_LO));
  const pf = load<f64>(<usize>(m + M_INTERCEPT) << 2) + load<f64>(<usize>(m + M_SLOPE) << 2) * x;
  return pf >= <f64>(n - 1) ? n - 1 : pf > 0 ? <u32>(pf + 0.5) : 0;
}

/** Index in directory d of the model owning (hi, lo) (the first whose last key is >= it). */
function dirFind(d: u32, hi: u32, lo: u32): u32 {
  const c = word(d);
  const his = d + 2;
  const los = d + 2 + c;
  let l: u32 = 0;
  let r: u32 = c - 1;
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (less(word(his + mid), word(los + mid), hi, lo)) l = mid + 1;
    else r = mid;
  }
  return l;
}

/**
 * First trained index of model m (n keys) with key >= (hi, lo), or n: an exponential search outward from
 * the predicted position (steps 1, 2, 4, ...), then a binary search inside the bracket found. It needs no
 * error bound, so it stays exact when the prediction is off by more than epsilon (keys 2^53 apart round).
 */
function lowerBound(m: u32, n: u32, hi: u32, lo: u32): u32 {
  if (n == 0) return 0;
  const p = <i32>predict(m, n, hi, lo);
  const k = m + M_KEYS;
  // Touch the predicted record now: its cache miss then overlaps the search's instead of following it (the
  // caller reads the record of the answer next, almost always this line or a neighbour).
  sink += word(recAt(m, n) + 4 * <u32>p + R_LOCK);
  let l: i32;
  let r: i32;
  if (less(word(k + 2 * p), word(k + 2 * p + 1), hi, lo)) {
    // key[p] < target: the answer is in (p, n]
    let step = 1;
    l = p + 1;
    r = p + 1;
    while (r < <i32>n && less(word(k + 2 * r), word(k + 2 * r + 1), hi, lo)) {
      l = r + 1;
      step <<= 1;
      r = p + step;
    }
    if (r > <i32>n) r = <i32>n;
  } else {
    // key[p] >= target: the answer is in [0, p]
    let step = 1;
    r = p;
    l = p - 1;
    while (l >= 0 && !less(word(k + 2 * l), word(k + 2 * l + 1), hi, lo)) {
      r = l;
      step <<= 1;
      l = p - step;
    }
    l = l < 0 ? 0 : l + 1;
  }
  // key[l - 1] < target (or l = 0), key[r] >= target (or r = n)
  while (l < r) {
    const mid = (l + r) >>> 1;
    if (less(word(k + 2 * mid), word(k + 2 * mid + 1), hi, lo)) l = mid + 1;
    else r = mid;
  }
  return <u32>l;
}

/** Level-bin lookup (optimistic: the caller validates the slot version). FOUND/ABSENT/GIVE_UP. */
function binGet(b: u32, hi: u32, lo: u32, lim: u32): i32 {
  let nc = word(b);
  if (nc > BIN_M) nc = BIN_M;
  let c: u32 = 0;
  for (let j: u32 = 1; j < nc; j++) {
    const ch = word(b + 1 + BIN_M + j);
    if (ch + BIN_CHILD_WORDS > lim) return GIVE_UP;
    const h = word(ch);
    if (h > hi || (h == hi && word(ch + 16) > lo)) break;
    c = j;
  }
  const ch = word(b + 1 + BIN_M + c);
  if (ch + BIN_CHILD_WORDS > lim) return GIVE_UP;
  let n = word(b + 1 + c);
  if (n > BIN_N) n = BIN_N;
  for (let i: u32 = 0; i < n; i++) {
    const h = word(ch + i);
    const l = word(ch + 16 + i);
    if (h == hi && l == lo) {
      valHi = word(ch + 32 + i);
      valLo = word(ch + 48 + i);
      return FOUND;
    }
    if (h > hi || (h == hi && l > lo)) return ABSENT;
  }
  return ABSENT;
}

/** The lookup proper (inside an epoch): FOUND with valHi/valLo set, ABSENT, or GIVE_UP. */
function getIn(hi: u32, lo: u32): i32 {
  const lim = words();
  let d = atomic.load<u32>(<usize>H_ROOT << 2);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (d + 2 > lim) return GIVE_UP;
    const m = word(d + 2 + 2 * word(d) + dirFind(d, hi, lo));
    if (m + MODEL_HEADER_WORDS > lim) return GIVE_UP;
    const n = word(m + M_N);
    const i = lowerBound(m, n, hi, lo);
    const k = m + M_KEYS;
    const r = recAt(m, n) + 4 * i;
    const hit = i < n && word(k + 2 * i) == hi && word(k + 2 * i + 1) == lo;
    let descend = false;
    for (let spin = 0; spin < MAX_SPINS; spin++) {
      const v = lockWord(r + R_LOCK);
      if ((v & 1) != 0) continue;
      if (hit) {
        const vh = word(r);
        const vl = word(r + 1);
        if (lockWord(r + R_LOCK) != v) continue;
        if ((v & DEAD) != 0) return ABSENT;
        valHi = vh;
        valLo = vl;
        return FOUND;
      }
      const s = word(r + R_SLOT);
      if (s == 0) return ABSENT;
      const tag = s & 3;
      if (tag == SLOT_DIR) {
        d = s ^ SLOT_DIR; // installed sub-directories never change
        descend = true;
        break;
      }
      let res: i32;
      if (tag == SLOT_PAIR) {
        const p = s ^ SLOT_PAIR;
        if (p + 4 > lim) return GIVE_UP;
        res = ABSENT;
        if (word(p) == hi && word(p + 1) == lo) {
          valHi = word(p + 2);
          valLo = word(p + 3);
          res = FOUND;
        }
      } else {
        res = binGet(s, hi, lo, lim);
      }
      if (lockWord(r + R_LOCK) == v) return res;
    }
    if (!descend) return GIVE_UP;
  }
  return GIVE_UP;
}

/**
 * Looks up (hi, lo). `ann` is the word of this thread's epoch announcement; with `announce` set the call
 * announces the current epoch there for its duration (0 = already inside an epoch). On FOUND the value is
 * written to words ann + 2 and ann + 3.
 */
export function get(hi: u32, lo: u32, ann: u32, announce: i32): i32 {
  if (announce != 0) atomic.store<u32>(<usize>ann << 2, word(H_EPOCH));
  const res = getIn(hi, lo);
  if (announce != 0) atomic.store<u32>(<usize>ann << 2, 0);
  if (res == FOUND) {
    store<u32>(<usize>(ann + 2) << 2, valHi);
    store<u32>(<usize>(ann + 3) << 2, valLo);
  }
  return res;
}

/**
 * Word of the predicted key of (hi, lo) in its top-level model; the predicted record is at the returned
 * word + `recordDelta` (a global, to return two values). Reads only the directory and the model header.
 */
let recordDelta: u32 = 0;
function predicted(hi: u32, lo: u32): u32 {
  const d = atomic.load<u32>(<usize>H_ROOT << 2);
  const m = word(d + 2 + 2 * word(d) + dirFind(d, hi, lo));
  const n = word(m + M_N);
  if (n == 0) {
    recordDelta = 0;
    return m;
  }
  const p = predict(m, n, hi, lo);
  const k = m + M_KEYS + 2 * p;
  recordDelta = recAt(m, n) + 4 * p + R_LOCK - k;
  return k;
}

/** Keys looked up together: their lines are touched first, in one tight loop, so the misses overlap. */
const GROUP: u32 = 16;

/**
 * Looks up `n` keys at word `keys` ((hi, lo) pairs) inside one epoch announcement at `ann`: values go to
 * word `out` ((hi, lo) pairs) and each key's result (FOUND, ABSENT or GIVE_UP) to the i32 at `res` + i.
 * Per group of keys: first the predicted positions (directory and model headers only, all cached), then
 * one load of each predicted key and record (independent loads: the CPU overlaps their cache misses),
 * then the lookups proper on warm lines. Returns the number found.
 */
export function getMany(keys: u32, n: u32, out: u32, res: u32, ann: u32): u32 {
  atomic.store<u32>(<usize>ann << 2, word(H_EPOCH));
  let hits: u32 = 0;
  for (let g: u32 = 0; g < n; g += GROUP) {
    const end = min(n, g + GROUP);
    // The group's out words hold the predicted key and record words until the lookups overwrite them.
    for (let j = g; j < end; j++) {
      store<u32>(<usize>(out + 2 * j) << 2, predicted(word(keys + 2 * j), word(keys + 2 * j + 1)));
      store<u32>(<usize>(out + 2 * j + 1) << 2, recordDelta);
    }
    let t: u32 = 0;
    for (let j = g; j < end; j++) {
      const k = word(out + 2 * j);
      t += word(k) + word(k + word(out + 2 * j + 1));
    }
    sink += t;
    for (let j = g; j < end; j++) {
      const r = getIn(word(keys + 2 * j), word(keys + 2 * j + 1));
      store<i32>(<usize>(res + j) << 2, r);
      if (r == FOUND) {
        store<u32>(<usize>(out + 2 * j) << 2, valHi);
        store<u32>(<usize>(out + 2 * j + 1) << 2, valLo);
        hits++;
      }
    }
  }
  atomic.store<u32>(<usize>ann << 2, 0);
  return hits;
}

/**
 * The descent of a write (IndexCore.lockSpot): announces the epoch at `ann`, finds the slot that owns
 * (hi, lo), takes its seqlock, and checks that the top-level model is not frozen by a retraining. Returns
 * the record word with the lock held and the epoch still announced (the caller writes, unlocks and clears
 * the announcement), with the top model, model, n and position in words ann + 4 .. ann + 7. Returns 0,
 * with nothing held and no announcement, when the caller must take the TS path instead: the model is
 * frozen (the TS path waits for the new directory), the lock stayed taken too long, or a pointer looked torn.
 */
export function lockSpot(hi: u32, lo: u32, ann: u32): u32 {
  atomic.store<u32>(<usize>ann << 2, word(H_EPOCH));
  const lim = words();
  let d = atomic.load<u32>(<usize>H_ROOT << 2);
  let top: u32 = 0;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (d + 2 > lim) break;
    const m = word(d + 2 + 2 * word(d) + dirFind(d, hi, lo));
    if (m + MODEL_HEADER_WORDS > lim) break;
    if (top == 0) top = m;
    const n = word(m + M_N);
    const i = lowerBound(m, n, hi, lo);
    const r = recAt(m, n) + 4 * i;
    const w = <usize>(r + R_LOCK) << 2;
    let held = false;
    for (let spin = 0; spin < MAX_SPINS; spin++) {
      const v = atomic.load<u32>(w);
      if ((v & 1) == 0 && atomic.cmpxchg<u32>(w, v, v + 1) == v) {
        held = true;
        break;
      }
    }
    if (!held) break;
    if (atomic.load<u32>(<usize>(top + M_FROZEN) << 2) != 0) {
      atomic.add<u32>(w, 3);
      break;
    }
    const s = word(r + R_SLOT);
    const k = m + M_KEYS;
    if ((s & 3) == SLOT_DIR && !(i < n && word(k + 2 * i) == hi && word(k + 2 * i + 1) == lo)) {
      atomic.add<u32>(w, 3); // release (a new version, as the TS path does) and descend
      d = s ^ SLOT_DIR;
      continue;
    }
    store<u32>(<usize>(ann + 4) << 2, top);
    store<u32>(<usize>(ann + 5) << 2, m);
    store<u32>(<usize>(ann + 6) << 2, n);
    store<u32>(<usize>(ann + 7) << 2, i);
    return r;
  }
  atomic.store<u32>(<usize>ann << 2, 0);
  return 0;
}

// ---- Range scans -------------------------------------------------------------------------------------
// The same walk as src/learned-index/range-scan.ts over one directory snapshot (slot 0, key 0, slot 1, ...,
// on to the next model, into and out of sub-directories), writing (keyHi, keyLo, valHi, valLo) quads to
// `scanOut` until `scanCap` pairs, the limit or the end key. Each slot is read under its seqlock: on a
// version change the slot's pairs are dropped and it is read again.

let scanOut: u32 = 0;
let scanCount: u32 = 0;
let scanCap: u32 = 0;
let scanFromHi: u32 = 0;
let scanFromLo: u32 = 0;
let scanEndHi: u32 = 0;
let scanEndLo: u32 = 0;
let scanDone = false;
let scanFailed = false;

/** Appends a pair >= from; past the end key or at capacity, marks the scan done instead. */
@inline function emit(h: u32, l: u32, vh: u32, vl: u32): void {
  if (less(h, l, scanFromHi, scanFromLo)) return;
  if (less(scanEndHi, scanEndLo, h, l) || scanCount >= scanCap) {
    scanDone = true;
    return;
  }
  const o = <usize>(scanOut + 4 * scanCount) << 2;
  store<u32>(o, h);
  store<u32>(o, l, 4);
  store<u32>(o, vh, 8);
  store<u32>(o, vl, 12);
  scanCount++;
}

function scanBin(b: u32, lim: u32): void {
  let nc = word(b);
  if (nc > BIN_M) nc = BIN_M;
  for (let c: u32 = 0; c < nc && !scanDone; c++) {
    const ch = word(b + 1 + BIN_M + c);
    if (ch + BIN_CHILD_WORDS > lim) {
      scanFailed = true;
      return;
    }
    let n = word(b + 1 + c);
    if (n > BIN_N) n = BIN_N;
    for (let i: u32 = 0; i < n && !scanDone; i++) {
      emit(word(ch + i), word(ch + 16 + i), word(ch + 32 + i), word(ch + 48 + i));
    }
  }
}

function scanDirIn(d: u32, depth: i32, lim: u32): void {
  if (depth >= MAX_DEPTH || d + 2 > lim) {
    scanFailed = true;
    return;
  }
  const c = word(d);
  for (let j = dirFind(d, scanFromHi, scanFromLo); j < c && !scanDone && !scanFailed; j++) {
    scanModelIn(word(d + 2 + 2 * c + j), depth, lim);
  }
}

function scanModelIn(m: u32, depth: i32, lim: u32): void {
  if (m + MODEL_HEADER_WORDS > lim) {
    scanFailed = true;
    return;
  }
  const n = word(m + M_N);
  const k = m + M_KEYS;
  const rec = recAt(m, n);
  for (let i = lowerBound(m, n, scanFromHi, scanFromLo); i <= n && !scanDone && !scanFailed; i++) {
    const r = rec + 4 * i;
    // After a sub-directory (installed ones never change) only the trained key to its right is left to read.
    let slotDone = false;
    for (let spin = 0; ; spin++) {
      if (spin > MAX_SPINS) {
        scanFailed = true;
        return;
      }
      const v = lockWord(r + R_LOCK);
      if ((v & 1) != 0) continue;
      const mark = scanCount;
      if (!slotDone) {
        const s = word(r + R_SLOT);
        if ((s & 3) == SLOT_DIR) {
          scanDirIn(s ^ SLOT_DIR, depth + 1, lim);
          if (scanDone || scanFailed) return;
          slotDone = true;
          continue; // the key under a fresh version
        }
        if ((s & 3) == SLOT_PAIR) {
          const p = s ^ SLOT_PAIR;
          if (p + 4 > lim) {
            scanFailed = true;
            return;
          }
          emit(word(p), word(p + 1), word(p + 2), word(p + 3));
        } else if (s != 0) {
          scanBin(s, lim);
        }
      }
      if (i < n && (v & DEAD) == 0 && !scanDone) emit(word(k + 2 * i), word(k + 2 * i + 1), word(r), word(r + 1));
      if (lockWord(r + R_LOCK) == v) break;
      scanCount = mark; // a writer interfered: read the slot again (the loop runs only while not done)
      scanDone = false;
      if (scanFailed) return;
    }
  }
}

/**
 * Writes the pairs with from <= key <= end in ascending order to word `out` (4 words each), at most `cap`
 * of them, inside an epoch announced at `ann`. Returns how many, or GIVE_UP (nothing usable: the caller
 * scans on the TS path). A result of `cap` pairs may have more after it: scan again from the last key + 1.
 */
export function scan(fromHi: u32, fromLo: u32, endHi: u32, endLo: u32, out: u32, cap: u32, ann: u32): i32 {
  atomic.store<u32>(<usize>ann << 2, word(H_EPOCH));
  scanOut = out;
  scanCount = 0;
  scanCap = cap;
  scanFromHi = fromHi;
  scanFromLo = fromLo;
  scanEndHi = endHi;
  scanEndLo = endLo;
  scanDone = false;
  scanFailed = false;
  scanDirIn(atomic.load<u32>(<usize>H_ROOT << 2), 0, words());
  atomic.store<u32>(<usize>ann << 2, 0);
  return scanFailed ? GIVE_UP : <i32>scanCount;
}
