/**
 * The group-delta kernels in plain TypeScript (see kernels-ts.ts for the pinned arithmetic rules): quantizing
 * groups within a bound against an optional base, the fused encoder (encodeGroups), and decoding codes back to
 * float32 values or to F16/BF16 bit patterns. assembly/kernels.ts must match them bit for bit.
 */
import type { Kernels } from './kernel-types.js';
import { fromBf16Bits, fromF16Bits, toBf16Bits, toF16Bits } from '../codecs/half-float.js';

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

/** Float32 values of a group-delta source: as they are, or widened from 16-bit patterns of F16 (1) / BF16 (2). */
function widen(x: Float32Array | Uint16Array, half: 1 | 2): Float32Array {
  if (x instanceof Float32Array) return x;
  const conv = half === 1 ? fromF16Bits : fromBf16Bits;
  return Float32Array.from(x, conv);
}

/**
 * Walks the codes of every quantized group (255 = the value continues as a varint in `overflow`), calling
 * `put(i, q * step)` (float32) for each element; raw groups (step <= 0) go to `raw(i, end)` when given. Returns
 * the overflow bytes used, or -1 - i when element i's code leaves +-maxCode, or -1 - n - i when its varint is
 * cut off (the kernels' error convention, kernel-types.ts).
 */
function readCodes(
  codes: Uint8Array, centers: Int32Array, steps: Float32Array, overflow: Uint8Array, groupSize: number, maxCode: number,
  n: number, put: (i: number, v: number) => void, raw?: (i: number, end: number) => void,
): number {
  let c = 0;
  let o = 0;
  for (let k = 0, i = 0; i < n; k++) {
    const step = steps[k]!;
    const end = Math.min(n, i + groupSize);
    if (!(step > 0)) {
      raw?.(i, end);
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
      put(i, Math.fround(Math.fround(q) * step));
    }
  }
  return o;
}

type GroupKernels = Pick<Kernels, 'quantizeGroups' | 'dequantizeCodes' | 'groupMagnitudes' | 'encodeGroups' | 'roundHalf' | 'dequantizeCodesHalf' | 'dequantizeGroups'>;

export const GROUP_KERNELS_TS: GroupKernels = {
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
    return readCodes(codes, centers, steps, overflow, groupSize, maxCode, out.length, (i, v) => {
      out[i] = base ? base[i]! + v : v;
    }, (i, end) => out.fill(0, i, end));
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
      GROUP_KERNELS_TS.groupMagnitudes(x, base, groupSize, mags);
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

  roundHalf(values, dtype, bits) {
    const toBits = dtype === 1 ? toF16Bits : toBf16Bits;
    const fromBits = dtype === 1 ? fromF16Bits : fromBf16Bits;
    for (let i = 0; i < values.length; i++) {
      const h = toBits(values[i]!);
      bits[i] = h;
      values[i] = fromBits(h);
    }
  },

  dequantizeCodesHalf(codes, centers, steps, overflow, bs, groupSize, maxCode, dtype, bits) {
    const base = bs && widen(bs, dtype);
    const toBits = dtype === 1 ? toF16Bits : toBf16Bits;
    return readCodes(codes, centers, steps, overflow, groupSize, maxCode, bits.length, (i, v) => {
      bits[i] = toBits(base ? Math.fround(base[i]! + v) : v);
    });
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
