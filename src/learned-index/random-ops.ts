/**
 * Seeded operation streams for the concurrency tests and the benchmark: the same seed gives the same
 * operations in a worker and in the checking thread, so a sequential oracle can replay what a worker did.
 */
import { SeededRandom } from './u64.js';

export const OP_GET = 0;
export const OP_SET = 1;
export const OP_INSERT = 2;
export const OP_DELETE = 3;

/** One operation: kind, key (hi, lo), value (hi, lo). */
export interface RandomOp {
  kind: number;
  khi: number;
  klo: number;
  vhi: number;
  vlo: number;
}

/**
 * `count` operations on the keys owned by `worker` of `workers` (lo % workers === worker), spread over
 * `keySpace` keys with high words that exercise the full 64-bit range.
 */
export function randomOps(seed: number, count: number, worker: number, workers: number, keySpace: number): RandomOp[] {
  const r = new SeededRandom(seed * 7919 + worker);
  const ops: RandomOp[] = [];
  for (let i = 0; i < count; i++) {
    const d = r.int(100);
    const kind = d < 40 ? OP_SET : d < 50 ? OP_INSERT : d < 70 ? OP_DELETE : OP_GET;
    const j = r.int(keySpace);
    const khi = (j * 2654435761) % 7 === 0 ? 0xffffffff : j % 5;
    ops.push({ kind, khi, klo: (j * workers + worker) >>> 0, vhi: r.nextU32(), vlo: r.nextU32() });
  }
  return ops;
}

/** Keys every worker races to insert (insert-if-absent), packed in one narrow range to fill level bins. */
export function sharedKeys(count: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) out.push([3, 0x80000000 + i * 3]);
  return out;
}

/** A seeded shuffle of 0..n-1. */
export function shuffled(n: number, seed: number): number[] {
  const r = new SeededRandom(seed);
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
