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
import { fromBf16Bits, fromF16Bits, toBf16Bits, toF16Bits } from '../codecs/half-float.js';

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

const F32_1 = new Float32Array(1);
const U32_1 = new Uint32Array(F32_1.buffer);
const f32Bits = (v: number): number => {
  F32_1[0] = v;
  return U32_1[0]!;
};
const f32Value = (h: number): number => {
  U32_1[0] = h;
  return F32_1[0]!;
};

/** Float32 values of a group-delta source: as they are, or widened from 16-bit patterns of F16 (1) / BF16 (2). */
function widen(x: Float32Array | Uint16Array, half: 1 | 2): Float32Array {
  if (x instanceof Float32Array) return x;
  const conv = half === 1 ? fromF16Bits : fromBf16Bits;
  return Float32Array.from(x, conv);
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

const F64_1 = new Float64Array(1);
const U32_2 = new Uint32Array(F64_1.buffer);

/** 2^(e + 1 - mant), e = max(binary exponent of m, minExp) (minExp for m = 0), from the bits (little-endian). */
function ulpBudget(m: number, mant: number, minExp: number): number {
  let e = minExp;
  if (m > 0) {
    F64_1[0] = m;
    e = Math.max(((U32_2[1]! >>> 20) & 0x7ff) - 1023, minExp);
  }
  U32_2[0] = 0;
  U32_2[1] = (e + 1 - mant + 1023) << 20;
  return F64_1[0]!;
}

/** encodeGroups' step rule (kernel-types.ts). */
function ruleStep(m: number, tol: number, dtype: number, shrink: number, halfMaxCode: number): number {
  const budget = ulpBudget(m, 23, -126) + (dtype === 0 ? 0 : dtype === 1 ? ulpBudget(m, 10, -14) : ulpBudget(m, 7, -126));
  let step = Math.fround((2 * tol - budget) * shrink);
  if (step < tol) step = Math.fround(2 * tol * shrink);
  return m / step < halfMaxCode ? step : 0;
}

function sat32(v: number): number {
  if (!(v === v)) return 0;
  return v >= 2147483647 ? 2147483647 : v <= -2147483648 ? -2147483648 : v;
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

  quantizeGroups(x, base, steps, groupSize, out) {
    for (let g = 0, i = 0; i < x.length; g++) {
      const step = steps[g]!;
      const end = Math.min(x.length, i + groupSize);
      for (; i < end; i++) {
        const d = base ? x[i]! - base[i]! : x[i]!;
        out[i] = step > 0 ? sat32(Math.floor(d / step + 0.5)) : 0;
      }
    }
  },

  dequantizeCodes(codes, centers, steps, overflow, base, groupSize, maxCode, out) {
    const n = out.length;
    let c = 0;
    let o = 0;
    for (let k = 0, i = 0; i < n; k++) {
      const step = steps[k]!;
      const end = Math.min(n, i + groupSize);
      if (!(step > 0)) {
        out.fill(0, i, end);
        i = end;
        continue;
      }
      const center = centers[k]!;
      for (; i < end; i++) {
        let d = codes[c++]!;
        if (d === 255) {
          let v = 0;
          for (let shift = 0; ; shift += 7) {
            if (o >= overflow.length || shift > 21) return -1 - n - i;
            const b = overflow[o++]!;
            v |= (b & 0x7f) << shift;
            if (b < 0x80) break;
          }
          d += v;
        }
        const q = center + ((d >>> 1) ^ -(d & 1));
        if (q > maxCode || q < -maxCode) return -1 - i;
        const v = Math.fround(Math.fround(q) * step);
        out[i] = base ? base[i]! + v : v;
      }
    }
    return o;
  },
  groupMagnitudes(xs, bs, groupSize, out, half = 2) {
    const x = widen(xs, half);
    const base = bs && widen(bs, half);
    for (let k = 0, i = 0; i < x.length; k++) {
      const end = Math.min(x.length, i + groupSize);
      let m = 0;
      let finite = true;
      for (; i < end; i++) {
        const xi = x[i]!;
        let a = Math.abs(xi);
        if (!Number.isFinite(xi)) finite = false;
        if (base) {
          const bi = base[i]!;
          if (!Number.isFinite(bi)) finite = false;
          a = Math.max(a, Math.abs(xi - bi));
        }
        if (a > m) m = a;
      }
      out[k] = finite ? m : -1;
    }
  },

  encodeGroups(xs, bs, steps, groupSize, tol, dtype, codes, overflow, centers, decoded, rule) {
    const half = dtype === 1 ? 1 : 2;
    const x = widen(xs, half);
    const base = bs && widen(bs, half);
    const n = x.length;
    if (rule) {
      const mags = new Float64Array(steps.length);
      TS_KERNELS.groupMagnitudes(x, base, groupSize, mags);
      for (let k = 0; k < steps.length; k++) steps[k] = mags[k]! < 0 ? 0 : ruleStep(mags[k]!, tol, dtype, rule.shrink, rule.halfMaxCode);
    }
    const toBits = dtype === 2 ? toBf16Bits : dtype === 1 ? toF16Bits : f32Bits;
    const fromBits = dtype === 2 ? fromBf16Bits : dtype === 1 ? fromF16Bits : f32Value;
    const out = new DataView(decoded.buffer, decoded.byteOffset, decoded.byteLength);
    const qs = new Int32Array(Math.min(groupSize, n));
    let c = 0;
    let o = 0;
    let maxError = 0;
    for (let k = 0, i0 = 0; i0 < n; k++, i0 += groupSize) {
      const end = Math.min(n, i0 + groupSize);
      const step = steps[k]!;
      if (!(step > 0)) continue;
      // The decoded bits of code q at element i (the decoder's float32 arithmetic, then rounding to dtype).
      const recon = (q: number, i: number): number => {
        const p = Math.fround(Math.fround(q) * step);
        return toBits(base ? Math.fround(base[i]! + p) : p);
      };
      let ok = true;
      let gmax = 0;
      let sum = 0;
      for (let i = i0; i < end; i++) {
        const xi = x[i]!;
        let q = sat32(Math.floor((base ? xi - base[i]! : xi) / step + 0.5));
        let h = recon(q, i);
        let e = Math.abs(fromBits(h) - xi);
        if (!(e <= tol)) {
          h = recon(q - 1, i);
          e = Math.abs(fromBits(h) - xi);
          if (e <= tol) q--;
          else {
            h = recon(q + 1, i);
            e = Math.abs(fromBits(h) - xi);
            if (!(e <= tol)) {
              ok = false;
              break;
            }
            q++;
          }
        }
        qs[i - i0] = q;
        sum += q;
        if (e > gmax) gmax = e;
        if (dtype === 0) out.setUint32(4 * i, h, true);
        else out.setUint16(2 * i, h, true);
      }
      if (!ok) {
        steps[k] = 0;
        continue;
      }
      if (gmax > maxError) maxError = gmax;
      const center = Math.round(sum / (end - i0));
      centers[k] = center;
      for (let j = 0; j < end - i0; j++) {
        const d = qs[j]! - center;
        const z = d >= 0 ? 2 * d : -2 * d - 1;
        if (z < 255) {
          codes[c++] = z;
          continue;
        }
        codes[c++] = 255;
        let v = z - 255;
        for (; v >= 0x80; v >>>= 7) overflow[o++] = (v & 0x7f) | 0x80;
        overflow[o++] = v;
      }
    }
    return { codes: c, overflow: o, maxError };
  },

  ransEncode: ransEncodeTs,

  roundHalf(values, dtype, bits) {
    const toBits = dtype === 1 ? toF16Bits : toBf16Bits;
    const fromBits = dtype === 1 ? fromF16Bits : fromBf16Bits;
    for (let i = 0; i < values.length; i++) {
      const h = toBits(values[i]!);
      bits[i] = h;
      values[i] = fromBits(h);
    }
  },

  byteCounts(input, counts) {
    for (let i = 0; i < input.length; i++) counts[input[i]!]++;
  },

  dequantizeCodesHalf(codes, centers, steps, overflow, bs, groupSize, maxCode, dtype, bits) {
    const base = bs && widen(bs, dtype);
    const toBits = dtype === 1 ? toF16Bits : toBf16Bits;
    const n = bits.length;
    let c = 0;
    let o = 0;
    for (let k = 0, i = 0; i < n; k++) {
      const step = steps[k]!;
      const end = Math.min(n, i + groupSize);
      if (!(step > 0)) {
        i = end;
        continue;
      }
      const center = centers[k]!;
      for (; i < end; i++) {
        let d = codes[c++]!;
        if (d === 255) {
          let v = 0;
          for (let shift = 0; ; shift += 7) {
            if (o >= overflow.length || shift > 21) return -1 - n - i;
            const b = overflow[o++]!;
            v |= (b & 0x7f) << shift;
            if (b < 0x80) break;
          }
          d += v;
        }
        const q = center + ((d >>> 1) ^ -(d & 1));
        if (q > maxCode || q < -maxCode) return -1 - i;
        const v = Math.fround(Math.fround(q) * step);
        bits[i] = toBits(base ? Math.fround(base[i]! + v) : v);
      }
    }
    return o;
  },

  dequantizeGroups(q, base, steps, groupSize, out) {
    for (let g = 0, i = 0; i < q.length; g++) {
      const step = steps[g]!;
      const end = Math.min(q.length, i + groupSize);
      for (; i < end; i++) {
        const d = Math.fround(Math.fround(q[i]!) * step);
        out[i] = base ? base[i]! + d : d;
      }
    }
  },
};
