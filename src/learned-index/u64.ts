/**
 * 64-bit unsigned keys and values as (hi, lo) pairs of u32 numbers. The hot paths of the index compare and
 * store keys as two numbers so no bigint is allocated per operation; the bigint `KeyIndex` API converts at
 * the edge. Predictions use the key's distance to a model's first key as a double: rounding there only
 * shifts a prediction, which the search window (and its fallback) absorbs, while comparisons stay exact.
 */
import { invalidArgument } from '../errors.js';

export const TWO32 = 4294967296;
const MAX_U64 = (1n << 64n) - 1n;

/** -1, 0 or 1 as (ahi, alo) is below, equal to or above (bhi, blo). */
export function cmp64(ahi: number, alo: number, bhi: number, blo: number): number {
  if (ahi !== bhi) return ahi < bhi ? -1 : 1;
  return alo === blo ? 0 : alo < blo ? -1 : 1;
}

/** (hi, lo) - (bhi, blo) as a double; exact below 2^53, rounded above (callers only use it to predict). */
export function diff64(hi: number, lo: number, bhi: number, blo: number): number {
  return (hi - bhi) * TWO32 + (lo - blo);
}

/** Throws INVALID_ARGUMENT unless `v` is a bigint in [0, 2^64). `what` names the argument. */
export function checkU64(v: unknown, what: string): bigint {
  if (typeof v !== 'bigint') throw invalidArgument(`${what} must be a bigint, got ${typeof v}`);
  if (v < 0n || v > MAX_U64) throw invalidArgument(`${what} must be in [0, 2^64), got ${v}`);
  return v;
}

export function hiOf(v: bigint): number {
  return Number(v >> 32n);
}

export function loOf(v: bigint): number {
  return Number(v & 0xffffffffn);
}

export function toBig(hi: number, lo: number): bigint {
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Throws INVALID_ARGUMENT unless hi and lo are integers in [0, 2^32). */
export function checkHiLo(hi: number, lo: number, what: string): void {
  if (!(hi >= 0 && hi < TWO32 && Math.floor(hi) === hi) || !(lo >= 0 && lo < TWO32 && Math.floor(lo) === lo)) {
    throw invalidArgument(`${what} (hi, lo) must be two integers in [0, 2^32), got (${hi}, ${lo})`);
  }
}

/**
 * A growable run of sorted (key, value) pairs as four u32 columns: what bulk load, retraining and scans pass
 * around instead of arrays of bigint tuples.
 */
export class PairRun {
  khi: Uint32Array;
  klo: Uint32Array;
  vhi: Uint32Array;
  vlo: Uint32Array;
  length = 0;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.khi = new Uint32Array(c);
    this.klo = new Uint32Array(c);
    this.vhi = new Uint32Array(c);
    this.vlo = new Uint32Array(c);
  }

  push(khi: number, klo: number, vhi: number, vlo: number): void {
    if (this.length === this.khi.length) this.grow();
    const i = this.length++;
    this.khi[i] = khi;
    this.klo[i] = klo;
    this.vhi[i] = vhi;
    this.vlo[i] = vlo;
  }

  private grow(): void {
    const c = this.khi.length * 2;
    const g = (a: Uint32Array): Uint32Array => {
      const b = new Uint32Array(c);
      b.set(a);
      return b;
    };
    this.khi = g(this.khi);
    this.klo = g(this.klo);
    this.vhi = g(this.vhi);
    this.vlo = g(this.vlo);
  }
}

/** A small seeded generator (SplitMix32-style) for tests and benchmarks; pure, no global state. */
export class SeededRandom {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform u32. */
  nextU32(): number {
    let z = (this.s = (this.s + 0x9e3779b9) >>> 0);
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / TWO32;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
