/**
 * FineIndex: the FINEdex learned index (Li, Hua et al., PVLDB 15(2) 2021) over 64-bit unsigned keys and
 * values, living in one SharedArrayBuffer so that worker threads read and write the same index at once.
 * It satisfies the engine's `KeyIndex` (bigint API); the `...HL` methods take keys and values as (hi, lo)
 * u32 numbers and allocate nothing, for hot paths.
 *
 * Duplicates: `set` inserts or replaces; `insert` only inserts (returns false and changes nothing when the
 * key is present); `update` only replaces (false when absent).
 */
import type { KeyIndex } from '../engine/key-index.js';
import { invalidArgument, isNeurStoreError } from '../errors.js';
import { Arena, H, MAX_ARENA_BYTES, SharedMemory } from './arena.js';
import { EpochMember, sizeOf } from './epochs.js';
import { IndexCore, INSERT, R_SKIPPED, SET, UPDATE } from './index-core.js';
import { buildDirectory, buildModels, dirModels } from './model.js';
import { bulkLoadRun, retrainDue, retrainModel } from './retrain.js';
import { checkU64, cmp64, hiOf, loOf, PairRun, toBig } from './u64.js';
import { wasmReader } from './wasm-reader.js';

/** Creation options. */
export interface FineIndexOptions {
  /** Error bound of the piecewise-linear models, in positions. Default 32. */
  epsilon?: number;
  /** Most trained keys per model (bounds the cost of one retraining). Default 8192. */
  maxModelKeys?: number;
  /** Initial arena size in bytes (whole 64 KiB pages). Default 1 MiB. */
  initialBytes?: number;
  /** Most bytes the arena may grow to (virtual reservation), at most 4 GiB. Default 4 GiB. */
  maxBytes?: number;
  /**
   * Where lookups and the descent of writes run: `'wasm'` (default; TS when the module is not built) or
   * `'ts'` (TS only, the reference path).
   */
  path?: 'wasm' | 'ts';
}

/** What another thread needs to attach: post it to a worker (the memory is shared, not copied). */
export interface FineIndexHandle {
  readonly memory: SharedMemory;
}

/** Counters for tests, benchmarks and monitoring. */
export interface FineIndexStats {
  size: number;
  models: number;
  arenaBytes: number;
  modelRetrains: number;
  binRetrains: number;
  /** Where this handle's lookups and write descents run. */
  path: 'wasm' | 'ts';
}

function checkInt(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw invalidArgument(`${what} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  }
  return v;
}

function checkHL(hi: number, lo: number): void {
  if (hi >>> 0 !== hi || lo >>> 0 !== lo) {
    throw invalidArgument(`key/value halves must be integers in [0, 2^32), got (${hi}, ${lo})`);
  }
}

/**
 * Retrains after a write that made `top` due. The write itself is done, so a full arena (NOT_SUPPORTED) only
 * skips this retraining (the models are left as they were, and the next due write tries again); the writes
 * that need room report it themselves.
 */
function retrainInline(arena: Arena, epochs: EpochMember, top: number): void {
  try {
    retrainModel(arena, epochs, top);
  } catch (e) {
    if (!isNeurStoreError(e, 'NOT_SUPPORTED')) throw e;
  }
}

export class FineIndex implements KeyIndex {
  private readonly arena: Arena;
  private readonly epochs: EpochMember;
  private readonly core: IndexCore;
  private readonly scratch = new PairRun(64);

  private constructor(arena: Arena, path: 'wasm' | 'ts' | undefined) {
    if (path !== undefined && path !== 'wasm' && path !== 'ts') {
      throw invalidArgument(`path must be 'wasm' or 'ts', got ${String(path)}`);
    }
    this.arena = arena;
    this.epochs = new EpochMember(arena);
    this.core = new IndexCore(arena, this.epochs, path === 'ts' ? null : wasmReader(arena.memory));
    this.core.onRetrainDue = (top) => {
      if (Atomics.load(arena.i32, H.BACKGROUND) === 0) retrainInline(arena, this.epochs, top);
      else {
        Atomics.add(arena.i32, H.RETRAIN_REQ, 1);
        Atomics.notify(arena.i32, H.RETRAIN_REQ);
      }
    };
  }

  /** A new empty index. Throws INVALID_ARGUMENT on bad options. */
  static create(options: FineIndexOptions = {}): FineIndex {
    const eps = checkInt(options.epsilon ?? 32, 1, 1 << 16, 'epsilon');
    const maxKeys = checkInt(options.maxModelKeys ?? 8192, 16, 1 << 24, 'maxModelKeys');
    const init = checkInt(options.initialBytes ?? 1 << 20, 4096, MAX_ARENA_BYTES, 'initialBytes');
    const max = checkInt(options.maxBytes ?? MAX_ARENA_BYTES, init, MAX_ARENA_BYTES, 'maxBytes');
    const arena = Arena.create(init, max);
    arena.i32[H.EPSILON] = eps;
    arena.i32[H.MAX_MODEL_KEYS] = maxKeys;
    arena.i32[H.ROOT] = buildDirectory(arena, buildModels(arena, new PairRun(1), eps, maxKeys));
    return new FineIndex(arena, options.path);
  }

  /**
   * Attaches to an index created in another thread (or this one); `path` as in `create`. Throws
   * INVALID_ARGUMENT on a bad handle.
   */
  static attach(handle: FineIndexHandle, options: { path?: 'wasm' | 'ts' } = {}): FineIndex {
    return new FineIndex(Arena.attach(handle), options.path);
  }

  /** The handle to post to workers. */
  handle(): FineIndexHandle {
    return { memory: this.arena.memory };
  }

  /** Gives this thread's epoch slot back; the index stays usable from other handles. */
  close(): void {
    if (this.epochs.idle) this.core.release();
    this.epochs.release();
  }

  get size(): number {
    return sizeOf(this.arena.i32);
  }

  get(key: bigint): bigint | undefined {
    checkU64(key, 'key');
    return this.core.get(hiOf(key), loOf(key)) ? toBig(this.core.out[0], this.core.out[1]) : undefined;
  }

  /** Inserts or replaces. */
  set(key: bigint, value: bigint): void {
    this.writeBig(key, value, SET);
  }

  /** Inserts when absent; false (index unchanged) when the key is present. */
  insert(key: bigint, value: bigint): boolean {
    return this.writeBig(key, value, INSERT);
  }

  /** Replaces when present; false (index unchanged) when absent. */
  update(key: bigint, value: bigint): boolean {
    return this.writeBig(key, value, UPDATE);
  }

  delete(key: bigint): boolean {
    checkU64(key, 'key');
    return this.core.remove(hiOf(key), loOf(key));
  }

  /**
   * Looks up many keys at once: the value of each, or undefined where absent. One epoch announcement for
   * the batch, and the wasm path touches a group's lines before looking its keys up (1.1-1.5x one `get` per
   * key on 1M random keys here).
   */
  getMany(keys: ArrayLike<bigint>): Array<bigint | undefined> {
    const n = keys?.length;
    checkInt(n, 0, 2 ** 31 - 1, 'keys.length');
    const hl = new Uint32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const k = checkU64(keys[i], `keys[${i}]`);
      hl[2 * i] = hiOf(k);
      hl[2 * i + 1] = loOf(k);
    }
    const values = new Uint32Array(2 * n);
    const found = new Uint8Array(n);
    this.core.getMany(hl, values, found);
    const out: Array<bigint | undefined> = new Array(n);
    for (let i = 0; i < n; i++) out[i] = found[i] ? toBig(values[2 * i], values[2 * i + 1]) : undefined;
    return out;
  }

  /** Keys >= `from` in ascending order, at most `limit` of them. */
  scan(from: bigint, limit: number): Array<[bigint, bigint]> {
    return this.range(from, (1n << 64n) - 1n, limit);
  }

  /** Keys in [from, end] in ascending order, at most `limit` of them (default: no limit). */
  range(from: bigint, end: bigint, limit = Number.MAX_SAFE_INTEGER): Array<[bigint, bigint]> {
    checkU64(from, 'from');
    checkU64(end, 'end');
    checkInt(limit, 0, Number.MAX_SAFE_INTEGER, 'limit');
    const r = this.scratch;
    r.length = 0;
    this.core.scan(r, limit, hiOf(from), loOf(from), hiOf(end), loOf(end));
    const out: Array<[bigint, bigint]> = new Array(r.length);
    for (let i = 0; i < r.length; i++) out[i] = [toBig(r.khi[i], r.klo[i]), toBig(r.vhi[i], r.vlo[i])];
    return out;
  }

  /** Replaces the contents with `pairs` (sorted by key, no duplicates; INVALID_ARGUMENT otherwise). */
  bulkLoad(pairs: ReadonlyArray<readonly [bigint, bigint]>): void {
    if (!Array.isArray(pairs)) throw invalidArgument('pairs must be an array of [key, value] bigint pairs');
    const run = new PairRun(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const k = checkU64(pairs[i]?.[0], `pairs[${i}][0]`);
      const v = checkU64(pairs[i]?.[1], `pairs[${i}][1]`);
      run.push(hiOf(k), loOf(k), hiOf(v), loOf(v));
    }
    this.bulkLoadRun(run);
  }

  /** Bulk load from u32 columns (strictly ascending keys; INVALID_ARGUMENT otherwise). `run` is copied. */
  bulkLoadRun(run: PairRun): void {
    for (let i = 1; i < run.length; i++) {
      if (cmp64(run.khi[i - 1], run.klo[i - 1], run.khi[i], run.klo[i]) >= 0) {
        throw invalidArgument(`bulk load keys must be strictly ascending; pair ${i} is not above pair ${i - 1}`);
      }
    }
    bulkLoadRun(this.arena, this.epochs, run);
  }

  /** Lookup by (hi, lo); on a hit the value is in `valueHi`/`valueLo`. */
  getHL(hi: number, lo: number): boolean {
    checkHL(hi, lo);
    return this.core.get(hi, lo);
  }

  /**
   * Batch lookup by halves, allocation-free: key i is (keys[2i], keys[2i + 1]); on a hit its value goes to
   * values[2i], values[2i + 1] and found[i] = 1, else found[i] = 0. Returns how many were found.
   */
  getManyHL(keys: Uint32Array, values: Uint32Array, found: Uint8Array): number {
    if (!(keys instanceof Uint32Array) || !(values instanceof Uint32Array) || !(found instanceof Uint8Array)) {
      throw invalidArgument('getManyHL takes (keys: Uint32Array, values: Uint32Array, found: Uint8Array)');
    }
    const n = keys.length >>> 1;
    if (keys.length !== 2 * n || values.length < 2 * n || found.length < n) {
      throw invalidArgument(`getManyHL: keys must hold (hi, lo) pairs, values 2 and found 1 entry per key; got ${keys.length}, ${values.length}, ${found.length}`);
    }
    return this.core.getMany(keys, values, found);
  }

  /** High half of the value found by the last successful `getHL` on this handle. */
  get valueHi(): number {
    return this.core.out[0];
  }

  get valueLo(): number {
    return this.core.out[1];
  }

  /** Upsert by halves; true when the key was new. */
  setHL(hi: number, lo: number, vhi: number, vlo: number): boolean {
    return this.writeHL(hi, lo, vhi, vlo, SET);
  }

  /** Insert-if-absent by halves; false when present. */
  insertHL(hi: number, lo: number, vhi: number, vlo: number): boolean {
    return this.writeHL(hi, lo, vhi, vlo, INSERT);
  }

  /** Update-if-present by halves; false when absent. */
  updateHL(hi: number, lo: number, vhi: number, vlo: number): boolean {
    return this.writeHL(hi, lo, vhi, vlo, UPDATE);
  }

  deleteHL(hi: number, lo: number): boolean {
    checkHL(hi, lo);
    return this.core.remove(hi, lo);
  }

  /** Appends pairs with key in [from, end] to `out` (at most `limit`); returns how many. */
  scanHL(fromHi: number, fromLo: number, limit: number, out: PairRun, endHi = 0xffffffff, endLo = 0xffffffff): number {
    checkHL(fromHi, fromLo);
    checkHL(endHi, endLo);
    return this.core.scan(out, limit, fromHi, fromLo, endHi, endLo);
  }

  /** Retrains every model with enough changes now (what the background worker does). Returns how many. */
  retrainDue(): number {
    return retrainDue(this.arena, this.epochs);
  }

  /** Frees retired blocks no reader can still hold. Returns how many. */
  reclaim(): number {
    return this.epochs.reclaim();
  }

  stats(): FineIndexStats {
    const a = this.arena;
    this.epochs.enter();
    try {
      a.refresh();
      return {
        size: this.size,
        models: dirModels(a.u32, Atomics.load(a.i32, H.ROOT)).length,
        arenaBytes: a.usedBytes(),
        modelRetrains: Atomics.load(a.i32, H.RETRAINS),
        binRetrains: Atomics.load(a.i32, H.BIN_RETRAINS),
        path: this.core.reader ? 'wasm' : 'ts',
      };
    } finally {
      this.epochs.exit();
    }
  }

  /** @internal the arena, for the retrain worker plumbing. */
  get sharedArena(): Arena {
    return this.arena;
  }

  private writeHL(hi: number, lo: number, vhi: number, vlo: number, mode: number): boolean {
    checkHL(hi, lo);
    checkHL(vhi, vlo);
    const r = this.core.write(hi, lo, vhi, vlo, mode);
    return mode === SET ? r === 0 : r !== R_SKIPPED;
  }

  private writeBig(key: bigint, value: bigint, mode: number): boolean {
    checkU64(key, 'key');
    checkU64(value, 'value');
    return this.core.write(hiOf(key), loOf(key), hiOf(value), loOf(value), mode) !== R_SKIPPED;
  }
}
