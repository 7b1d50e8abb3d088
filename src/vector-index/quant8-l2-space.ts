/**
 * Squared L2 between dequantized 8-bit tensors (the paper's base-similarity distance), computed straight on
 * the codes: each term is `(min_a - min_b) + a_i*s_a - b_i*s_b`, so no float array is materialized. The
 * direct loop is used rather than expanding into sums of codes, because near-duplicate tensors (the case that
 * matters) would lose most significant digits to cancellation in the expanded form. Terms are computed in
 * float64, so a result differs from summing float32-dequantized values by at most rounding of each value.
 */
import { invalidArgument } from '../errors.js';
import type { Quant8 } from '../codecs/quant8.js';
import type { VectorSpace } from './vector-space.js';

/** A query is another quantized tensor or the float32 tensor itself. */
export type Quant8Query = Quant8 | Float32Array;

function checkLengths(n: number, m: number): void {
  if (n !== m) throw invalidArgument(`vector lengths differ: ${n} vs ${m} elements`);
}

/** Squared L2 between the dequantized values of `a` and `b`; throws INVALID_ARGUMENT on a length mismatch. */
export function quant8L2(a: Quant8, b: Quant8): number {
  const ca = a.codes;
  const cb = b.codes;
  checkLengths(ca.length, cb.length);
  const d = a.min - b.min;
  const sa = a.scale;
  const sb = b.scale;
  const n = ca.length;
  const n4 = n - (n & 3);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const t0 = d + ca[i]! * sa - cb[i]! * sb;
    const t1 = d + ca[i + 1]! * sa - cb[i + 1]! * sb;
    const t2 = d + ca[i + 2]! * sa - cb[i + 2]! * sb;
    const t3 = d + ca[i + 3]! * sa - cb[i + 3]! * sb;
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  for (; i < n; i++) {
    const t = d + ca[i]! * sa - cb[i]! * sb;
    s0 += t * t;
  }
  return s0 + s1 + s2 + s3;
}

/** Squared L2 between float32 `q` and the dequantized values of `b`. */
export function float32Quant8L2(q: Float32Array, b: Quant8): number {
  const cb = b.codes;
  checkLengths(q.length, cb.length);
  const m = b.min;
  const sb = b.scale;
  const n = q.length;
  const n4 = n - (n & 3);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const t0 = q[i]! - m - cb[i]! * sb;
    const t1 = q[i + 1]! - m - cb[i + 1]! * sb;
    const t2 = q[i + 2]! - m - cb[i + 2]! * sb;
    const t3 = q[i + 3]! - m - cb[i + 3]! * sb;
    s0 += t0 * t0;
    s1 += t1 * t1;
    s2 += t2 * t2;
    s3 += t3 * t3;
  }
  for (; i < n; i++) {
    const t = q[i]! - m - cb[i]! * sb;
    s0 += t * t;
  }
  return s0 + s1 + s2 + s3;
}

/** The `VectorSpace` of quantized base tensors; queries may be quantized or float32. Stateless. */
export class Quant8L2Space implements VectorSpace<Quant8, Quant8Query> {
  readonly name = 'quant8-l2';

  checkVector(v: Quant8): void {
    const ok = v !== null && typeof v === 'object' && v.codes instanceof Uint8Array;
    if (!ok || !Number.isFinite(v.min) || !Number.isFinite(v.scale) || v.scale < 0) {
      throw invalidArgument('vector is not a Quant8 (Uint8Array codes, finite min, finite scale >= 0)');
    }
  }

  checkQuery(q: Quant8Query): void {
    if (!(q instanceof Float32Array)) return this.checkVector(q);
    for (let i = 0; i < q.length; i++) {
      if (!Number.isFinite(q[i]!)) {
        throw invalidArgument(`query element ${i} is ${q[i]}: only finite values can be compared`);
      }
    }
  }

  lengthOf(v: Quant8): number {
    return v.codes.length;
  }

  queryLengthOf(q: Quant8Query): number {
    return q instanceof Float32Array ? q.length : q.codes.length;
  }

  distance(a: Quant8, b: Quant8): number {
    return quant8L2(a, b);
  }

  queryDistance(q: Quant8Query, v: Quant8): number {
    return q instanceof Float32Array ? float32Quant8L2(q, v) : quant8L2(q, v);
  }
}
