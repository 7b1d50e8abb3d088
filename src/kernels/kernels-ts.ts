/**
 * Plain-TypeScript kernels: the reference implementation of every hot loop, and the fallback when the wasm
 * build is missing. The wasm kernels (assembly/kernels.ts) must give bit-identical results, so each loop's
 * arithmetic is pinned here: which operations round to float32, and the order of every floating-point sum.
 *
 * Pinned rules: float32 arithmetic is emulated with Math.fround after each operation (exact, since a double
 * holds the exact f32 sum/product before rounding); sums run in float64 over 4 strided accumulators
 * (acc[k] += term(i) for i % 4 == k, in index order) combined as (acc0 + acc2) + (acc1 + acc3) -- the
 * order two f64x2 vector accumulators give -- then the tail (n % 4 elements) is added in index order.
 * Rounding to integer is floor(v + 0.5) in float64, saturated to the int32 range. The matmul kernels are the
 * exception: they sum in float32 (their order is pinned in kernel-types.ts), so wasm can vectorize across
 * output columns.
 */
import type { Kernels } from './kernel-types.js';
import { invalidArgument } from '../errors.js';
import { GROUP_KERNELS_TS } from './group-kernels-ts.js';

const RANS_SCALE_BITS = 15;
const RANS_M = 1 << RANS_SCALE_BITS;
const RANS_L = 1 << 23;

/** rANS slot tables: the symbol, its frequency and (slot - cum[symbol]) for each of the 2^15 slots. */
function ransSlots(freq: Uint32Array): { sym: Uint8Array; fr: Uint32Array; bias: Uint32Array } {
  const sym = new Uint8Array(RANS_M);
  const fr = new Uint32Array(RANS_M);
  const bias = new Uint32Array(RANS_M);
  for (let s = 0, c = 0; s < 256; s++) {
    const f = freq[s]!;
    for (let k = 0; k < f; k++) {
      sym[c + k] = s;
      fr[c + k] = f;
      bias[c + k] = k;
    }
    c += f;
  }
  return { sym, fr, bias };
}

function ransDecodeTs(freq: Uint32Array, stream: Uint8Array, states: Uint32Array, out: Uint8Array): number {
  return ransDecodeWith(freq, stream, states, out, out.length >= RANS_M / 8);
}

/**
 * The TS rANS decoder. With `slotTables` each symbol is one lookup in 2^15-entry slot tables; without, a
 * binary search over the cumulative frequencies of the symbols present, which is faster for short outputs
 * (filling the tables costs more than decoding a few thousand symbols). Same results either way. Exported
 * for tests.
 */
export function ransDecodeWith(
  freq: Uint32Array, stream: Uint8Array, states: Uint32Array, out: Uint8Array, slotTables: boolean,
): number {
  const tables = slotTables ? ransSlots(freq) : null;
  // Symbols with a nonzero frequency, ascending, and their cumulative starts (for the search).
  const syms: number[] = [];
  const cum: number[] = [];
  for (let s = 0, c = 0; s < 256 && !tables; s++) {
    if (freq[s]! === 0) continue;
    syms.push(s);
    cum.push(c);
    c += freq[s]!;
  }
  const x = Int32Array.from(states);
  const mask = x.length - 1; // 2 or 8 states: symbol i uses state i % K
  const n = out.length;
  const end = stream.length;
  let p = 0;
  for (let i = 0; i < n; i++) {
    let v = x[i & mask]!;
    const slot = v & (RANS_M - 1);
    let sym: number;
    let f: number;
    let bias: number;
    if (tables) {
      sym = tables.sym[slot]!;
      f = tables.fr[slot]!;
      bias = tables.bias[slot]!;
    } else {
      let lo = 0;
      let hi = syms.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if (cum[mid]! <= slot) lo = mid;
        else hi = mid - 1;
      }
      sym = syms[lo]!;
      f = freq[sym]!;
      bias = slot - cum[lo]!;
    }
    out[i] = sym;
    v = (f * (v >>> RANS_SCALE_BITS) + bias) | 0; // v < 2^31 keeps every step in int32 range
    while (v < RANS_L) {
      if (p >= end) return -1;
      v = (v << 8) | stream[p++]!;
    }
    x[i & mask] = v;
  }
  return x.every((v) => v === RANS_L) ? p : -2;
}

/**
 * rANS encoding of `input` on `states` (see Kernels.ransEncode): returns the offset in `out` of the stream's
 * first byte. Reciprocal-free division stays exact: x < 2^31 and f <= 2^15, so (x / f) | 0 is floor(x / f).
 */
function ransEncodeTs(input: Uint8Array, freq: Uint32Array, states: Uint32Array, out: Uint8Array): number {
  const k = states.length;
  const xMaxOf = new Uint32Array(256);
  const cum = new Uint32Array(257);
  for (let s = 0; s < 256; s++) {
    xMaxOf[s] = ((RANS_L >>> RANS_SCALE_BITS) << 8) * freq[s]!;
    cum[s + 1] = cum[s]! + freq[s]!;
  }
  let p = out.length;
  for (let i = input.length - 1; i >= 0; i--) {
    const s = input[i]!;
    const f = freq[s]!;
    const xMax = xMaxOf[s]!;
    let x = states[i % k]!;
    while (x >= xMax) {
      out[--p] = x & 0xff;
      x >>>= 8;
    }
    const q = (x / f) | 0;
    states[i % k] = (q << RANS_SCALE_BITS) + (x - q * f) + cum[s]!;
  }
  return p;
}

/** Throws INVALID_ARGUMENT unless m, k, n are non-negative integers and the arrays hold m×k, k×n, m×n. */
export function checkMatmulShape(name: string, x: ArrayLike<number>, m: number, k: number, w: ArrayLike<number>, n: number, out: ArrayLike<number>): void {
  for (const [dim, v] of [['m', m], ['k', k], ['n', n]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(`${name}: ${dim} must be a non-negative integer, got ${v}`);
  }
  const bad = x.length !== m * k ? `x has ${x.length} elements, not m*k = ${m * k}`
    : w.length !== k * n ? `W has ${w.length} elements, not k*n = ${k * n}`
      : out.length !== m * n ? `out has ${out.length} elements, not m*n = ${m * n}` : '';
  if (bad) throw invalidArgument(`${name}: ${bad}`);
}

/**
 * The shared matmul loop: row i of x against W (k×n, `w[t*n + j]` as a number), acc[j] summed in float32 (a
 * Float32Array rounds each store; the product is rounded first with Math.fround), t ascending. `finish`
 * maps (acc, sx) to r, where sx = Σ_t x[i,t] in float32; then out = f32(out + r) when accumulating.
 */
function matmulTs(
  x: Float32Array, m: number, k: number, w: ArrayLike<number>, n: number, out: Float32Array, add: boolean,
  finish: (acc: number, sx: number) => number,
): void {
  const acc = new Float32Array(n);
  for (let i = 0; i < m; i++) {
    acc.fill(0);
    let sx = 0;
    for (let t = 0; t < k; t++) {
      const xv = x[i * k + t]!;
      sx = Math.fround(sx + xv);
      const row = t * n;
      for (let j = 0; j < n; j++) acc[j] += Math.fround(xv * w[row + j]!);
    }
    const o = i * n;
    for (let j = 0; j < n; j++) {
      const r = finish(acc[j]!, sx);
      out[o + j] = add ? out[o + j]! + r : r;
    }
  }
}

export const TS_KERNELS: Kernels = {
  ransDecode: ransDecodeTs,

  matmulU8(x, m, k, codes, n, min, scale, out, accumulate) {
    checkMatmulShape('matmulU8', x, m, k, codes, n, out);
    const fm = Math.fround(min);
    const fs = Math.fround(scale);
    matmulTs(x, m, k, codes, n, out, accumulate, (a, sx) => Math.fround(Math.fround(a * fs) + Math.fround(sx * fm)));
  },

  matmulS8(x, m, k, codes, n, scale, out, accumulate) {
    checkMatmulShape('matmulS8', x, m, k, codes, n, out);
    const fs = Math.fround(scale);
    matmulTs(x, m, k, codes, n, out, accumulate, (a) => Math.fround(a * fs));
  },

  matmulS16(x, m, k, codes, n, scale, out, accumulate) {
    checkMatmulShape('matmulS16', x, m, k, codes, n, out);
    const fs = Math.fround(scale);
    matmulTs(x, m, k, codes, n, out, accumulate, (a) => Math.fround(a * fs));
  },

  matmulF32(x, m, k, w, n, out, accumulate) {
    checkMatmulShape('matmulF32', x, m, k, w, n, out);
    matmulTs(x, m, k, w, n, out, accumulate, (a) => a);
  },

  xorBytes(a, b, out) {
    for (let i = 0; i < out.length; i++) out[i] = a[i]! ^ b[i]!;
  },

  splitPlanes(src, width, out) {
    const n = src.length / width;
    for (let k = 0; k < width; k++) {
      const base = k * n;
      for (let i = 0; i < n; i++) out[base + i] = src[i * width + k]!;
    }
  },

  mergePlanes(planes, width, out) {
    const n = planes.length / width;
    for (let k = 0; k < width; k++) {
      const base = k * n;
      for (let i = 0; i < n; i++) out[i * width + k] = planes[base + i]!;
    }
  },

  quantize8(x, codes) {
    if (x.length === 0) return { min: 0, scale: 0 };
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (!Number.isFinite(v)) return null;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    // Math.fround keeps min/scale representable in the float32 fields they are stored in.
    const fmin = Math.fround(min);
    const scale = Math.fround((max - fmin) / 255);
    if (!(scale > 0)) {
      codes.fill(0);
      return { min: fmin, scale };
    }
    const inv = 1 / scale;
    for (let i = 0; i < x.length; i++) {
      const c = Math.round((x[i]! - fmin) * inv);
      codes[i] = c < 0 ? 0 : c > 255 ? 255 : c;
    }
    return { min: fmin, scale };
  },

  residualCodes(x, base, inv, maxCode, out) {
    let peak = 0;
    for (let i = 0; i < x.length; i++) {
      const c = Math.round((x[i]! - base[i]!) * inv);
      const a = Math.abs(c);
      if (!(a < maxCode)) return -1;
      if (a > peak) peak = a;
      out[i] = c;
    }
    return peak;
  },

  dequantize8(codes, min, scale, out) {
    for (let i = 0; i < codes.length; i++) out[i] = min + codes[i]! * scale;
  },

  sqL2Quant8(a, aMin, aScale, b, bMin, bScale) {
    const n = a.length;
    const acc = [0, 0, 0, 0];
    const body = n - (n % 4);
    for (let i = 0; i < body; i += 4) {
      for (let k = 0; k < 4; k++) {
        const d = (aMin + a[i + k]! * aScale) - (bMin + b[i + k]! * bScale);
        acc[k] += d * d;
      }
    }
    let s = (acc[0]! + acc[2]!) + (acc[1]! + acc[3]!);
    for (let i = body; i < n; i++) {
      const d = (aMin + a[i]! * aScale) - (bMin + b[i]! * bScale);
      s += d * d;
    }
    return s;
  },

  dotF32(a, b) {
    const n = a.length;
    const acc = [0, 0, 0, 0];
    const body = n - (n % 4);
    for (let i = 0; i < body; i += 4) {
      for (let k = 0; k < 4; k++) acc[k] += a[i + k]! * b[i + k]!;
    }
    let s = (acc[0]! + acc[2]!) + (acc[1]! + acc[3]!);
    for (let i = body; i < n; i++) s += a[i]! * b[i]!;
    return s;
  },

  ...GROUP_KERNELS_TS,

  ransEncode: ransEncodeTs,

  byteCounts(input, counts) {
    for (let i = 0; i < input.length; i++) counts[input[i]!]++;
  },

};
