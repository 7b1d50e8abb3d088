// NeurStore hot loops in AssemblyScript, compiled to wasm with SIMD by scripts/build-kernels.mjs.
// Every function must give bit-identical results to src/kernels/kernels-ts.ts (the reference): the same
// float32/float64 rounding points and the same summation order (4 strided float64 accumulators held in two
// f64x2 vectors, combined as (acc0 + acc2) + (acc1 + acc3), then the tail in index order). The matmul
// kernels live in matmul.ts (re-exported below) and pin their own float32 order.
// Memory: the host copies inputs to addresses at or above heapBase() and reads outputs back; nothing here
// allocates.

/** First free byte after static data: the host lays out its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}

export function xorBytes(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    v128.store(out + i, v128.xor(v128.load(a + i), v128.load(b + i)));
  }
  for (; i < n; i++) store<u8>(out + i, load<u8>(a + i) ^ load<u8>(b + i));
}

export function splitPlanes(src: usize, width: i32, out: usize, n: i32): void {
  let i = 0;
  if (width == 4) {
    for (; i + 4 <= n; i += 4) {
      const v = i8x16.shuffle(v128.load(src + (<usize>i << 2)), v128.splat<i32>(0),
        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      store<i32>(out + i, i32x4.extract_lane(v, 0));
      store<i32>(out + n + i, i32x4.extract_lane(v, 1));
      store<i32>(out + 2 * n + i, i32x4.extract_lane(v, 2));
      store<i32>(out + 3 * n + i, i32x4.extract_lane(v, 3));
    }
  } else if (width == 2) {
    for (; i + 8 <= n; i += 8) {
      const v = i8x16.shuffle(v128.load(src + (<usize>i << 1)), v128.splat<i32>(0),
        0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
      store<i64>(out + i, i64x2.extract_lane(v, 0));
      store<i64>(out + n + i, i64x2.extract_lane(v, 1));
    }
  }
  for (; i < n; i++) {
    for (let k = 0; k < width; k++) store<u8>(out + k * n + i, load<u8>(src + i * width + k));
  }
}

export function mergePlanes(planes: usize, width: i32, out: usize, n: i32): void {
  let i = 0;
  if (width == 4) {
    for (; i + 4 <= n; i += 4) {
      let v = i32x4.splat(load<i32>(planes + i));
      v = i32x4.replace_lane(v, 1, load<i32>(planes + n + i));
      v = i32x4.replace_lane(v, 2, load<i32>(planes + 2 * n + i));
      v = i32x4.replace_lane(v, 3, load<i32>(planes + 3 * n + i));
      v128.store(out + (<usize>i << 2), i8x16.shuffle(v, v,
        0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
    }
  } else if (width == 2) {
    for (; i + 8 <= n; i += 8) {
      let v = i64x2.splat(load<i64>(planes + i));
      v = i64x2.replace_lane(v, 1, load<i64>(planes + n + i));
      v128.store(out + (<usize>i << 1), i8x16.shuffle(v, v,
        0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15));
    }
  }
  for (; i < n; i++) {
    for (let k = 0; k < width; k++) store<u8>(out + i * width + k, load<u8>(planes + k * n + i));
  }
}

export function dequantize8(codes: usize, min: f64, scale: f64, out: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    store<f32>(out + (<usize>i << 2), <f32>(min + <f64>load<u8>(codes + i) * scale));
  }
}

// JavaScript's Math.round (halves toward +infinity), exactly: ceil, then a step back when that went past x by
// more than a half.
// @ts-ignore: decorator
@inline
function jsRound(x: f64): f64 {
  const r = ceil(x);
  return r - 0.5 > x ? r - 1 : r;
}

// Range of n f32 values into out[0] (min) and out[1] (max) as f64; returns 0, or 1 when one is NaN or infinite.
export function rangeF32(x: usize, n: i32, out: usize): i32 {
  let min = f32.POSITIVE_INFINITY;
  let max = f32.NEGATIVE_INFINITY;
  let bad: f32 = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    bad += v - v; // NaN for NaN and infinities, else 0
    min = select<f32>(v, min, v < min);
    max = select<f32>(v, max, v > max);
  }
  store<f64>(out, <f64>min);
  store<f64>(out, <f64>max, 8);
  return bad == 0 ? 0 : 1;
}

// codes[i] = clamp(Math.round((f64(x[i]) - min) * inv), 0, 255), in float64 as quant8's quantize8.
// jsRound on two f64 lanes.
// @ts-ignore: decorator
@inline
function round2(d: v128): v128 {
  const r = f64x2.ceil(d);
  return f64x2.sub(r, v128.and(f64x2.gt(f64x2.sub(r, f64x2.splat(0.5)), d), f64x2.splat(1)));
}

// Two lanes of quantizeU8 in float64: clamp(jsRound((x - min) * inv), 0, 255) as i32 lanes 0, 1.
// @ts-ignore: decorator
@inline
function codes2(v: v128, vmin: v128, vinv: v128): v128 {
  const c = round2(f64x2.mul(f64x2.sub(v, vmin), vinv));
  return i32x4.trunc_sat_f64x2_s_zero(f64x2.min(f64x2.max(c, f64x2.splat(0)), f64x2.splat(255)));
}

export function quantizeU8(x: usize, n: i32, min: f64, inv: f64, out: usize): void {
  const vmin = f64x2.splat(min);
  const vinv = f64x2.splat(inv);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = codes2(f64x2.promote_low_f32x4(v), vmin, vinv);
    const hi = codes2(f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), vmin, vinv);
    const w = i32x4.shuffle(lo, hi, 0, 1, 4, 5);
    const b = i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(w, w), i16x8.splat(0));
    v128.store32_lane(out + <usize>i, b, 0);
  }
  for (; i < n; i++) {
    const c = jsRound((<f64>load<f32>(x + (<usize>i << 2)) - min) * inv);
    store<u8>(out + <usize>i, <u8><i32>(c < 0 ? 0 : c > 255 ? 255 : c));
  }
}

// out[i] = Math.round((f64(x[i]) - f64(base[i])) * inv); returns the largest |out[i]|, or -1 as soon as one
// is not below maxCode in magnitude (or NaN).
export function residualCodes(x: usize, base: usize, n: i32, inv: f64, maxCode: f64, out: usize): f64 {
  const vinv = f64x2.splat(inv);
  const vmax = f64x2.splat(maxCode);
  let vpeak = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = <usize>i << 2;
    const v = v128.load(x + p);
    const b = v128.load(base + p);
    const vh = i32x4.shuffle(v, v, 2, 3, 0, 1);
    const bh = i32x4.shuffle(b, b, 2, 3, 0, 1);
    const lo = round2(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(b)), vinv));
    const hi = round2(f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(vh), f64x2.promote_low_f32x4(bh)), vinv));
    const alo = f64x2.abs(lo);
    const ahi = f64x2.abs(hi);
    // NaN compares false: it fails the range check as in the scalar loop.
    if (!v128.all_true<i64>(v128.and(f64x2.lt(alo, vmax), f64x2.lt(ahi, vmax)))) return -1;
    vpeak = f64x2.max(vpeak, f64x2.max(alo, ahi));
    v128.store(out + p, i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(lo), i32x4.trunc_sat_f64x2_s_zero(hi), 0, 1, 4, 5));
  }
  let peak = max(f64x2.extract_lane(vpeak, 0), f64x2.extract_lane(vpeak, 1));
  for (; i < n; i++) {
    const p = <usize>i << 2;
    const d = (<f64>load<f32>(x + p) - <f64>load<f32>(base + p)) * inv;
    const c = jsRound(d);
    const a = abs(c);
    if (!(a < maxCode)) return -1;
    peak = max(peak, a);
    store<i32>(out + p, <i32>c);
  }
  return peak;
}

/** Widens 4 bytes at p to two f64x2 vectors (lanes 0,1 and 2,3). */
@inline function bytesToF64(p: usize, hi: bool): v128 {
  const w = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
  return f64x2.convert_low_i32x4_u(hi ? i32x4.shuffle(w, w, 2, 3, 0, 1) : w);
}

export function sqL2Quant8(a: usize, aMin: f64, aScale: f64, b: usize, bMin: f64, bScale: f64, n: i32): f64 {
  let acc01 = f64x2.splat(0);
  let acc23 = f64x2.splat(0);
  const am = f64x2.splat(aMin), as = f64x2.splat(aScale), bm = f64x2.splat(bMin), bs = f64x2.splat(bScale);
  const body = n - (n % 4);
  let i = 0;
  for (; i < body; i += 4) {
    const d01 = f64x2.sub(f64x2.add(am, f64x2.mul(bytesToF64(a + i, false), as)),
      f64x2.add(bm, f64x2.mul(bytesToF64(b + i, false), bs)));
    const d23 = f64x2.sub(f64x2.add(am, f64x2.mul(bytesToF64(a + i, true), as)),
      f64x2.add(bm, f64x2.mul(bytesToF64(b + i, true), bs)));
    acc01 = f64x2.add(acc01, f64x2.mul(d01, d01));
    acc23 = f64x2.add(acc23, f64x2.mul(d23, d23));
  }
  const s2 = f64x2.add(acc01, acc23);
  let s = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; i < n; i++) {
    const d = (aMin + <f64>load<u8>(a + i) * aScale) - (bMin + <f64>load<u8>(b + i) * bScale);
    s += d * d;
  }
  return s;
}

export function dotF32(a: usize, b: usize, n: i32): f64 {
  let acc01 = f64x2.splat(0);
  let acc23 = f64x2.splat(0);
  const body = n - (n % 4);
  let i = 0;
  for (; i < body; i += 4) {
    const va = v128.load(a + (<usize>i << 2));
    const vb = v128.load(b + (<usize>i << 2));
    const ah = i32x4.shuffle(va, va, 2, 3, 0, 1);
    const bh = i32x4.shuffle(vb, vb, 2, 3, 0, 1);
    acc01 = f64x2.add(acc01, f64x2.mul(f64x2.promote_low_f32x4(va), f64x2.promote_low_f32x4(vb)));
    acc23 = f64x2.add(acc23, f64x2.mul(f64x2.promote_low_f32x4(ah), f64x2.promote_low_f32x4(bh)));
  }
  const s2 = f64x2.add(acc01, acc23);
  let s = f64x2.extract_lane(s2, 0) + f64x2.extract_lane(s2, 1);
  for (; i < n; i++) s += <f64>load<f32>(a + (<usize>i << 2)) * <f64>load<f32>(b + (<usize>i << 2));
  return s;
}


export function quantizeGroups(x: usize, base: usize, steps: usize, groupSize: i32, out: usize, n: i32): void {
  let i = 0;
  for (let g = 0; i < n; g++) {
    const step = <f64>load<f32>(steps + (<usize>g << 2));
    const end = min(n, i + groupSize);
    if (!(step > 0)) {
      for (; i < end; i++) store<i32>(out + (<usize>i << 2), 0);
      continue;
    }
    const vs = f64x2.splat(step);
    const half = f64x2.splat(0.5);
    for (; i + 2 <= end; i += 2) {
      let d = f64x2.promote_low_f32x4(v128.load64_zero(x + (<usize>i << 2)));
      if (base) d = f64x2.sub(d, f64x2.promote_low_f32x4(v128.load64_zero(base + (<usize>i << 2))));
      const q = i32x4.trunc_sat_f64x2_s_zero(f64x2.floor(f64x2.add(f64x2.div(d, vs), half)));
      store<i64>(out + (<usize>i << 2), i64x2.extract_lane(q, 0));
    }
    for (; i < end; i++) {
      let d = <f64>load<f32>(x + (<usize>i << 2));
      if (base) d -= <f64>load<f32>(base + (<usize>i << 2));
      const q = i32x4.trunc_sat_f64x2_s_zero(f64x2.splat(Math.floor(d / step + 0.5)));
      store<i32>(out + (<usize>i << 2), i32x4.extract_lane(q, 0));
    }
  }
}

export function dequantizeGroups(q: usize, base: usize, steps: usize, groupSize: i32, out: usize, n: i32): void {
  let i = 0;
  for (let g = 0; i < n; g++) {
    const step = load<f32>(steps + (<usize>g << 2));
    const end = min(n, i + groupSize);
    const vs = f32x4.splat(step);
    for (; i + 4 <= end; i += 4) {
      const p = <usize>i << 2;
      let v = f32x4.mul(f32x4.convert_i32x4_s(v128.load(q + p)), vs);
      if (base) v = f32x4.add(v128.load(base + p), v);
      v128.store(out + p, v);
    }
    for (; i < end; i++) {
      const p = <usize>i << 2;
      let v = <f32>load<i32>(q + p) * step;
      if (base) v = load<f32>(base + p) + v;
      store<f32>(out + p, v);
    }
  }
}

// Group-delta decoding from one-byte codes: see dequantizeCodes in src/kernels/kernel-types.ts.
export function dequantizeCodes(
  codes: usize, centers: usize, steps: usize, overflow: usize, overflowLen: i32, base: usize, groupSize: i32,
  maxCode: i32, out: usize, n: i32,
): i32 {
  let c: usize = 0;
  let o: i32 = 0;
  let i: i32 = 0;
  for (let k: usize = 0; i < n; k++) {
    const step = load<f32>(steps + (k << 2));
    const end = min(n, i + groupSize);
    if (!(step > 0)) {
      memory.fill(out + (<usize>i << 2), 0, <usize>(end - i) << 2);
      i = end;
      continue;
    }
    const center = load<i32>(centers + (k << 2));
    for (; i < end; i++) {
      let d = <i32>load<u8>(codes + c++);
      if (d == 255) {
        // A varint of at most 4 bytes (below 2^28: anything larger is out of range anyway).
        let v: i32 = 0;
        let shift: i32 = 0;
        for (;;) {
          if (o >= overflowLen || shift > 21) return -1 - n - i;
          const b = <i32>load<u8>(overflow + <usize>o);
          o++;
          v |= (b & 0x7f) << shift;
          if (b < 0x80) break;
          shift += 7;
        }
        d += v;
      }
      const q = center + ((d >>> 1) ^ -(d & 1));
      if (q > maxCode || q < -maxCode) return -1 - i;
      let v = <f32>q * step;
      if (base) v = load<f32>(base + (<usize>i << 2)) + v;
      store<f32>(out + (<usize>i << 2), v);
    }
  }
  return o;
}

// Element i of a group-delta source: src 0 = f32 values, 1 = fp16 bit patterns, 2 = bfloat16 bit patterns.
// @ts-ignore: decorator
@inline
function loadSrc(p: usize, i: i32, src: i32): f32 {
  if (src == 0) return load<f32>(p + (<usize>i << 2));
  const h = <u32>load<u16>(p + (<usize>i << 1));
  return src == 2 ? reinterpret<f32>(h << 16) : f16Value(h);
}

// Four elements of a source with src 0 or 2 as f32x4.
// @ts-ignore: decorator
@inline
function loadSrc4(p: usize, i: i32, src: i32): v128 {
  if (src == 0) return v128.load(p + (<usize>i << 2));
  return i32x4.shl(i32x4.extend_low_i16x8_u(v128.load64_zero(p + (<usize>i << 1))), 16);
}

// Largest |x - base| (or |x|) per group, in float64: out[k] = max over group k of max(|x|, |x - b|), or -1 when
// an element of x or base in the group is NaN or infinite. See groupMagnitudes in src/kernels/kernel-types.ts.
// The magnitude of elements i .. end: max of |x| and |x - b| in float64, or -1 when one is NaN or infinite.
function groupMagnitude(x: usize, base: usize, i: i32, end: i32, src: i32): f64 {
  let m: f64 = 0;
  let bad: f32 = 0;
  if (src != 1) {
    // |x| and |x - b| in float64 lanes; bad collects x - x (NaN for NaN and infinities) in f32 lanes.
    let vm = f64x2.splat(0);
    let vbad = f32x4.splat(0);
    for (; i + 4 <= end; i += 4) {
      const xv = loadSrc4(x, i, src);
      vbad = f32x4.add(vbad, f32x4.sub(xv, xv));
      const xh = i32x4.shuffle(xv, xv, 2, 3, 0, 1);
      let alo = f64x2.abs(f64x2.promote_low_f32x4(xv));
      let ahi = f64x2.abs(f64x2.promote_low_f32x4(xh));
      if (base) {
        const bv = loadSrc4(base, i, src);
        vbad = f32x4.add(vbad, f32x4.sub(bv, bv));
        const bh = i32x4.shuffle(bv, bv, 2, 3, 0, 1);
        alo = f64x2.max(alo, f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(xv), f64x2.promote_low_f32x4(bv))));
        ahi = f64x2.max(ahi, f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(xh), f64x2.promote_low_f32x4(bh))));
      }
      vm = f64x2.max(vm, f64x2.max(alo, ahi));
    }
    m = max(f64x2.extract_lane(vm, 0), f64x2.extract_lane(vm, 1));
    bad = (f32x4.extract_lane(vbad, 0) + f32x4.extract_lane(vbad, 1)) + (f32x4.extract_lane(vbad, 2) + f32x4.extract_lane(vbad, 3));
  }
  for (; i < end; i++) {
    const xf = loadSrc(x, i, src);
    const xd = <f64>xf;
    bad += xf - xf; // NaN for NaN and infinities, else 0
    let a = abs(xd);
    if (base) {
      const bf = loadSrc(base, i, src);
      bad += bf - bf;
      a = max(a, abs(xd - <f64>bf));
    }
    m = max(m, a);
  }
  // m is NaN-free when bad is 0 (f64x2.max would carry a NaN lane; the result is -1 then anyway).
  return bad == 0 ? m : -1;
}

export function groupMagnitudes(x: usize, base: usize, n: i32, groupSize: i32, out: usize, src: i32): void {
  let i = 0;
  for (let k: usize = 0; i < n; k++) {
    const end = min(n, i + groupSize);
    store<f64>(out + (k << 3), groupMagnitude(x, base, i, end, src));
    i = end;
  }
}

// IEEE binary16 bits of an f32 value, round-to-nearest-even (src/codecs/half-float.ts toF16Bits).
// @ts-ignore: decorator
@inline
function f16Bits(v: f32): u32 {
  const x = reinterpret<u32>(v);
  const sign = (x >>> 16) & 0x8000;
  const exp = <i32>((x >>> 23) & 0xff);
  const mant = x & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = <u32>(14 - e);
    let h = m >>> shift;
    const rem = m & ((<u32>1 << shift) - 1);
    const half = <u32>1 << (shift - 1);
    if (rem > half || (rem == half && (h & 1) != 0)) h++;
    return sign | h;
  }
  let h = (<u32>e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) != 0)) h++;
  return sign | h;
}

// The value of fp16 bits (src/codecs/half-float.ts fromF16Bits), as f32 (every fp16 value is one).
// @ts-ignore: decorator
@inline
function f16Value(h: u32): f32 {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  let v: f32;
  if (exp == 0) v = <f32>mant * 5.9604644775390625e-8; // 2^-24
  else if (exp == 0x1f) v = mant ? f32.NaN : f32.POSITIVE_INFINITY;
  else v = reinterpret<f32>(((exp + 112) << 23) | (mant << 13));
  return h & 0x8000 ? -v : v;
}

// bfloat16 bits of an f32 value, round-to-nearest-even (src/codecs/half-float.ts toBf16Bits).
// @ts-ignore: decorator
@inline
function bf16Bits(v: f32): u32 {
  const x = reinterpret<u32>(v);
  if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff) != 0) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

// The decoded element bits in the output dtype (0 F32: f32 bits, 1 F16, 2 BF16: 16-bit patterns).
// @ts-ignore: decorator
@inline
function dtypeBits(v: f32, dtype: i32): u32 {
  return dtype == 2 ? bf16Bits(v) : dtype == 1 ? f16Bits(v) : reinterpret<u32>(v);
}

// @ts-ignore: decorator
@inline
function bitsValue(h: u32, dtype: i32): f64 {
  return <f64>(dtype == 2 ? reinterpret<f32>(h << 16) : dtype == 1 ? f16Value(h) : reinterpret<f32>(h));
}

// Reconstruction of code q as the decoder computes it, in the output dtype's bits.
// @ts-ignore: decorator
@inline
function reconBits(q: i32, step: f32, bf: f32, hasBase: bool, dtype: i32): u32 {
  const p = <f32>q * step;
  return dtypeBits(hasBase ? bf + p : p, dtype);
}

// Running sum of q and largest error of the group being encoded (the scalar path's share).
let gSum: f64 = 0;
let gMax: f64 = 0;

// One element of encodeGroups, scalar: finds q (nudged by one code when needed), stores it at qs and the decoded
// bits at `decoded`; false when neither q, q - 1 nor q + 1 decodes within tol.
// @ts-ignore: decorator
@inline
function encodeOne(
  x: usize, base: usize, i: i32, src: i32, step: f32, tol: f64, dtype: i32, qs: usize, decoded: usize,
): bool {
  const hasBase = base != 0;
  const xd = <f64>loadSrc(x, i, src);
  const bf: f32 = hasBase ? loadSrc(base, i, src) : 0;
  const d = hasBase ? xd - <f64>bf : xd;
  let q = i32x4.extract_lane(i32x4.trunc_sat_f64x2_s_zero(f64x2.splat(Math.floor(d / <f64>step + 0.5))), 0);
  let h = reconBits(q, step, bf, hasBase, dtype);
  let e = abs(bitsValue(h, dtype) - xd);
  if (!(e <= tol)) {
    h = reconBits(q - 1, step, bf, hasBase, dtype);
    e = abs(bitsValue(h, dtype) - xd);
    if (e <= tol) q = q - 1;
    else {
      h = reconBits(q + 1, step, bf, hasBase, dtype);
      e = abs(bitsValue(h, dtype) - xd);
      if (!(e <= tol)) return false;
      q = q + 1;
    }
  }
  store<i32>(qs, q);
  gSum += <f64>q;
  if (e > gMax) gMax = e;
  if (dtype == 0) store<u32>(decoded + (<usize>i << 2), h);
  else store<u16>(decoded + (<usize>i << 1), <u16>h);
  return true;
}

// Fused group-delta encoding (quantize, bound check with one-code nudges, centers, codes, overflow, decoded
// bits, largest error): see encodeGroups in src/kernels/kernel-types.ts. x and base are sources as loadSrc
// reads them (`src`). `qs` is scratch for groupSize i32s; `result` receives f64 [codes used, overflow bytes
// used, largest error]. Four elements at a time in SIMD lanes when the source and dtype allow (F32, BF16):
// a block where a lane misses the bound is redone by the scalar path, which nudges; integer sums of q and the
// maximum of errors do not depend on the order, so both paths give the same results.
// 2^(e + 1 - mant) with e = max(the binary exponent of m, minExp) (minExp for m = 0): group-delta's ulp budget.
// @ts-ignore: decorator
@inline
function ulpBudget(m: f64, mant: i32, minExp: i32): f64 {
  let e = minExp;
  if (m > 0) e = max(<i32>((reinterpret<u64>(m) >> 52) & 0x7ff) - 1023, minExp);
  return reinterpret<f64>(<u64>(e + 1 - mant + 1023) << 52);
}

// The step of a group from its magnitude m (see encodeGroups' `rule` in src/kernels/kernel-types.ts).
// @ts-ignore: decorator
@inline
function ruleStep(m: f64, tol: f64, dtype: i32, shrink: f64, halfMaxCode: f64): f32 {
  const budget = ulpBudget(m, 23, -126) + (dtype == 0 ? 0 : dtype == 1 ? ulpBudget(m, 10, -14) : ulpBudget(m, 7, -126));
  let step = <f32>((2 * tol - budget) * shrink);
  if (<f64>step < tol) step = <f32>(2 * tol * shrink);
  return m / <f64>step < halfMaxCode ? step : 0;
}

export function encodeGroups(
  x: usize, base: usize, n: i32, steps: usize, groupSize: i32, tol: f64, dtype: i32,
  codes: usize, overflow: usize, centers: usize, decoded: usize, qs: usize, result: usize, src: i32,
  rule: i32, shrink: f64, halfMaxCode: f64,
): void {
  const hasBase = base != 0;
  const simd = src != 1 && dtype != 1;
  let c: usize = 0;
  let o: usize = 0;
  let maxErr: f64 = 0;
  let i0 = 0;
  const vtol = f64x2.splat(tol);
  const vhalf = f64x2.splat(0.5);
  for (let k: usize = 0; i0 < n; k++, i0 += groupSize) {
    const end = min(n, i0 + groupSize);
    let step: f32;
    if (rule) {
      const m = groupMagnitude(x, base, i0, end, src);
      step = m < 0 ? 0 : ruleStep(m, tol, dtype, shrink, halfMaxCode);
      store<f32>(steps + (k << 2), step);
    } else {
      step = load<f32>(steps + (k << 2));
    }
    if (!(step > 0)) continue;
    const vs64 = f64x2.splat(<f64>step);
    const vs32 = f32x4.splat(step);
    let ok = true;
    gSum = 0;
    gMax = 0;
    let vsum = f64x2.splat(0);
    let vmax = f64x2.splat(0);
    let i = i0;
    if (simd) {
      for (; i + 4 <= end; i += 4) {
        const xv = loadSrc4(x, i, src);
        const bv = hasBase ? loadSrc4(base, i, src) : f32x4.splat(0);
        const xh = i32x4.shuffle(xv, xv, 2, 3, 0, 1);
        const bh = i32x4.shuffle(bv, bv, 2, 3, 0, 1);
        const xlo = f64x2.promote_low_f32x4(xv);
        const xhi = f64x2.promote_low_f32x4(xh);
        let dlo = xlo;
        let dhi = xhi;
        if (hasBase) {
          dlo = f64x2.sub(xlo, f64x2.promote_low_f32x4(bv));
          dhi = f64x2.sub(xhi, f64x2.promote_low_f32x4(bh));
        }
        const qlo = i32x4.trunc_sat_f64x2_s_zero(f64x2.floor(f64x2.add(f64x2.div(dlo, vs64), vhalf)));
        const qhi = i32x4.trunc_sat_f64x2_s_zero(f64x2.floor(f64x2.add(f64x2.div(dhi, vs64), vhalf)));
        const q = i32x4.shuffle(qlo, qhi, 0, 1, 4, 5);
        let r = f32x4.mul(f32x4.convert_i32x4_s(q), vs32);
        if (hasBase) r = f32x4.add(bv, r);
        // BF16: round to nearest even on the bits (r is finite or infinite here, never NaN).
        if (dtype == 2) {
          r = v128.and(i32x4.add(i32x4.add(r, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(r, 16), i32x4.splat(1))), i32x4.splat(0xffff0000));
        }
        const rh = i32x4.shuffle(r, r, 2, 3, 0, 1);
        const elo = f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(r), xlo));
        const ehi = f64x2.abs(f64x2.sub(f64x2.promote_low_f32x4(rh), xhi));
        if (v128.all_true<i64>(v128.and(f64x2.le(elo, vtol), f64x2.le(ehi, vtol)))) {
          v128.store(qs + (<usize>(i - i0) << 2), q);
          vsum = f64x2.add(vsum, f64x2.add(f64x2.convert_low_i32x4_s(q), f64x2.convert_low_i32x4_s(i32x4.shuffle(q, q, 2, 3, 0, 1))));
          vmax = f64x2.max(vmax, f64x2.max(elo, ehi));
          if (dtype == 0) v128.store(decoded + (<usize>i << 2), r);
          else v128.store64_lane(decoded + (<usize>i << 1), i16x8.narrow_i32x4_u(i32x4.shr_u(r, 16), r), 0);
          continue;
        }
        for (let j = i; j < i + 4; j++) {
          if (!encodeOne(x, base, j, src, step, tol, dtype, qs + (<usize>(j - i0) << 2), decoded)) {
            ok = false;
            break;
          }
        }
        if (!ok) break;
      }
    }
    if (ok) {
      for (; i < end; i++) {
        if (!encodeOne(x, base, i, src, step, tol, dtype, qs + (<usize>(i - i0) << 2), decoded)) {
          ok = false;
          break;
        }
      }
    }
    if (!ok) {
      store<f32>(steps + (k << 2), 0);
      continue;
    }
    const sum = gSum + (f64x2.extract_lane(vsum, 0) + f64x2.extract_lane(vsum, 1));
    const gmax = max(gMax, max(f64x2.extract_lane(vmax, 0), f64x2.extract_lane(vmax, 1)));
    if (gmax > maxErr) maxErr = gmax;
    const center = <i32>jsRound(sum / <f64>(end - i0));
    store<i32>(centers + (k << 2), center);
    const len = end - i0;
    const vc = i32x4.splat(center);
    let j = 0;
    for (; j + 4 <= len; j += 4) {
      const dq = i32x4.sub(v128.load(qs + (<usize>j << 2)), vc);
      const z = v128.xor(i32x4.shl(dq, 1), i32x4.shr_s(dq, 31));
      if (!v128.all_true<i32>(i32x4.lt_u(z, i32x4.splat(255)))) break;
      const z16 = i16x8.narrow_i32x4_u(z, z);
      v128.store32_lane(codes + c, i8x16.narrow_i16x8_u(z16, z16), 0);
      c += 4;
    }
    for (; j < len; j++) {
      const dq = load<i32>(qs + (<usize>j << 2)) - center;
      const z = <u32>(dq >= 0 ? 2 * dq : -2 * dq - 1);
      if (z < 255) {
        store<u8>(codes + c++, <u8>z);
        continue;
      }
      store<u8>(codes + c++, 255);
      let v = z - 255;
      while (v >= 0x80) {
        store<u8>(overflow + o++, <u8>((v & 0x7f) | 0x80));
        v >>>= 7;
      }
      store<u8>(overflow + o++, <u8>v);
    }
  }
  store<f64>(result, <f64>c);
  store<f64>(result, <f64>o, 8);
  store<f64>(result, maxErr, 16);
}

// dequantizeCodes straight to 16-bit patterns: for element i of a group with steps[k] > 0, bits[i] = the F16
// (dtype 1) or BF16 (2) pattern of f32(base[i] + f32(f32(q) * steps[k])) (no base: f32(f32(q) * steps[k])),
// base read as loadSrc reads it (`src`). Groups with steps <= 0 are not written. Returns as dequantizeCodes.
export function dequantizeCodesHalf(
  codes: usize, centers: usize, steps: usize, overflow: usize, overflowLen: i32, base: usize, groupSize: i32,
  maxCode: i32, dtype: i32, bits: usize, n: i32, src: i32,
): i32 {
  const hasBase = base != 0;
  let c: usize = 0;
  let o: i32 = 0;
  let i: i32 = 0;
  for (let k: usize = 0; i < n; k++) {
    const step = load<f32>(steps + (k << 2));
    const end = min(n, i + groupSize);
    if (!(step > 0)) {
      i = end;
      continue;
    }
    const center = load<i32>(centers + (k << 2));
    if (dtype == 2 && src != 1) {
      // Four codes at a time while none is 255 and every q is in range (else the scalar loop takes the block).
      const vc = i32x4.splat(center);
      const vs = f32x4.splat(step);
      const vmax = i32x4.splat(maxCode);
      const vmin = i32x4.splat(-maxCode);
      for (; i + 4 <= end; i += 4) {
        const d = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(codes + c)));
        const q = i32x4.add(vc, v128.xor(i32x4.shr_u(d, 1), i32x4.neg(v128.and(d, i32x4.splat(1)))));
        const bad = v128.or(i32x4.eq(d, i32x4.splat(255)), v128.or(i32x4.gt_s(q, vmax), i32x4.lt_s(q, vmin)));
        if (v128.any_true(bad)) break;
        let v = f32x4.mul(f32x4.convert_i32x4_s(q), vs);
        if (hasBase) v = f32x4.add(loadSrc4(base, i, src), v);
        // v is finite or infinite (never NaN): BF16 round to nearest even on the bits.
        const h = i32x4.shr_u(i32x4.add(i32x4.add(v, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(v, 16), i32x4.splat(1))), 16);
        v128.store64_lane(bits + (<usize>i << 1), i16x8.narrow_i32x4_u(h, h), 0);
        c += 4;
      }
    }
    for (; i < end; i++) {
      let d = <i32>load<u8>(codes + c++);
      if (d == 255) {
        let v: i32 = 0;
        let shift: i32 = 0;
        for (;;) {
          if (o >= overflowLen || shift > 21) return -1 - n - i;
          const b = <i32>load<u8>(overflow + <usize>o);
          o++;
          v |= (b & 0x7f) << shift;
          if (b < 0x80) break;
          shift += 7;
        }
        d += v;
      }
      const q = center + ((d >>> 1) ^ -(d & 1));
      if (q > maxCode || q < -maxCode) return -1 - i;
      let v = <f32>q * step;
      if (hasBase) v = loadSrc(base, i, src) + v;
      store<u16>(bits + (<usize>i << 1), <u16>(dtype == 2 ? bf16Bits(v) : f16Bits(v)));
    }
  }
  return o;
}

// Order-0 rANS decoding with two interleaved states (see src/codecs/rans-coder.ts for the format).
// `freq` holds 256 u32 frequencies summing to 2^15 (checked by the caller); `scratch` has 9 * 2^15 bytes for
// the slot tables. Returns the stream bytes consumed, -1 if the stream ends early, -2 on a final-state mismatch.
const SCALE_BITS: u32 = 15;
const M: u32 = 1 << 15;
const L: u32 = 1 << 23;

function buildSlots(freq: usize, scratch: usize): void {
  let c: u32 = 0;
  for (let s: u32 = 0; s < 256; s++) {
    const f = load<u32>(freq + (<usize>s << 2));
    for (let k: u32 = 0; k < f; k++) {
      const slot = <usize>(c + k);
      store<u8>(scratch + slot, <u8>s);
      store<u32>(scratch + M + (slot << 2), f);
      store<u32>(scratch + 5 * M + (slot << 2), k);
    }
    c += f;
  }
}

export function ransDecode(freq: usize, stream: usize, streamLen: i32, x0: u32, x1: u32, out: usize, n: i32, scratch: usize): i32 {
  buildSlots(freq, scratch);
  const fr = scratch + M;
  const bias = scratch + 5 * M;
  let p: i32 = 0;
  const pairs = n & ~1;
  let i = 0;
  for (; i < pairs; i += 2) {
    const s0 = <usize>(x0 & (M - 1));
    const s1 = <usize>(x1 & (M - 1));
    store<u8>(out + i, load<u8>(scratch + s0));
    store<u8>(out + i + 1, load<u8>(scratch + s1));
    x0 = load<u32>(fr + (s0 << 2)) * (x0 >> SCALE_BITS) + load<u32>(bias + (s0 << 2));
    x1 = load<u32>(fr + (s1 << 2)) * (x1 >> SCALE_BITS) + load<u32>(bias + (s1 << 2));
    while (x0 < L) {
      if (p >= streamLen) return -1;
      x0 = (x0 << 8) | <u32>load<u8>(stream + p++);
    }
    while (x1 < L) {
      if (p >= streamLen) return -1;
      x1 = (x1 << 8) | <u32>load<u8>(stream + p++);
    }
  }
  if (n & 1) {
    const s0 = <usize>(x0 & (M - 1));
    store<u8>(out + i, load<u8>(scratch + s0));
    x0 = load<u32>(fr + (s0 << 2)) * (x0 >> SCALE_BITS) + load<u32>(bias + (s0 << 2));
    while (x0 < L) {
      if (p >= streamLen) return -1;
      x0 = (x0 << 8) | <u32>load<u8>(stream + p++);
    }
  }
  return x0 == L && x1 == L ? p : -2;
}


// The same with eight interleaved states (mode 5): symbol i uses state i % 8. A round decodes eight symbols,
// then renormalizes the eight states in order, branch-free (a state takes 0, 1 or 2 bytes: a data-dependent
// branch would mispredict often), so it may read up to 16 bytes past a truncated stream before the check that
// ends the round; the caller lays out other buffers after the stream. `states` holds the 8 initial states and
// is overwritten. Scratch as for ransDecode (its table part).

// @ts-ignore: decorator
@inline
function step8(x: u32, out: usize, freq: usize, cum: usize, slots: usize): u32 {
  const s = <usize>(x & (M - 1));
  const a = <usize>load<u8>(slots + s);
  store<u8>(out, <u8>a);
  return load<u32>(freq + (a << 2)) * (x >> SCALE_BITS) + <u32>s - load<u32>(cum + (a << 2));
}

// @ts-ignore: decorator
@inline
function need(x: u32): usize {
  return <usize>(x < L) + <usize>(x < (L >> 8));
}

// @ts-ignore: decorator
@inline
function refill(x: u32, at: usize): u32 {
  const a = x < L;
  x = select<u32>((x << 8) | <u32>load<u8>(at), x, a);
  return select<u32>((x << 8) | <u32>load<u8>(at + <usize>a), x, x < L);
}

function buildSymbols(freq: usize, slots: usize, cum: usize): void {
  let c: u32 = 0;
  for (let s: u32 = 0; s < 256; s++) {
    const f = load<u32>(freq + (<usize>s << 2));
    store<u32>(cum + (<usize>s << 2), c);
    memory.fill(slots + c, <u8>s, f);
    c += f;
  }
}

export function ransDecode8(freq: usize, stream: usize, streamLen: i32, states: usize, out: usize, n: i32, scratch: usize): i32 {
  const slots = scratch;
  const cum = scratch + M;
  buildSymbols(freq, slots, cum);
  const end = <usize>streamLen;
  let x0 = load<u32>(states);
  let x1 = load<u32>(states, 4);
  let x2 = load<u32>(states, 8);
  let x3 = load<u32>(states, 12);
  let x4 = load<u32>(states, 16);
  let x5 = load<u32>(states, 20);
  let x6 = load<u32>(states, 24);
  let x7 = load<u32>(states, 28);
  let p: usize = 0;
  const rounds = n & ~7;
  let i = 0;
  for (; i < rounds; i += 8) {
    const o = out + <usize>i;
    x0 = step8(x0, o, freq, cum, slots);
    x1 = step8(x1, o + 1, freq, cum, slots);
    x2 = step8(x2, o + 2, freq, cum, slots);
    x3 = step8(x3, o + 3, freq, cum, slots);
    x4 = step8(x4, o + 4, freq, cum, slots);
    x5 = step8(x5, o + 5, freq, cum, slots);
    x6 = step8(x6, o + 6, freq, cum, slots);
    x7 = step8(x7, o + 7, freq, cum, slots);
    let k = need(x0); x0 = refill(x0, stream + p); p += k;
    k = need(x1); x1 = refill(x1, stream + p); p += k;
    k = need(x2); x2 = refill(x2, stream + p); p += k;
    k = need(x3); x3 = refill(x3, stream + p); p += k;
    k = need(x4); x4 = refill(x4, stream + p); p += k;
    k = need(x5); x5 = refill(x5, stream + p); p += k;
    k = need(x6); x6 = refill(x6, stream + p); p += k;
    k = need(x7); x7 = refill(x7, stream + p); p += k;
    if (p > end) return -1;
  }
  store<u32>(states, x0);
  store<u32>(states, x1, 4);
  store<u32>(states, x2, 8);
  store<u32>(states, x3, 12);
  store<u32>(states, x4, 16);
  store<u32>(states, x5, 20);
  store<u32>(states, x6, 24);
  store<u32>(states, x7, 28);
  // The last n % 8 symbols use states 0 .. n % 8 - 1.
  for (let j: usize = 0; i < n; i++, j++) {
    let x = step8(load<u32>(states + (j << 2)), out + <usize>i, freq, cum, slots);
    const k = need(x);
    x = refill(x, stream + p);
    p += k;
    if (p > end) return -1;
    store<u32>(states + (j << 2), x);
  }
  let ok = true;
  for (let j: usize = 0; j < 8; j++) ok = ok && load<u32>(states + (j << 2)) == L;
  return ok ? <i32>p : -2;
}

// Order-0 rANS encoding, the inverse of the decoders above (src/codecs/rans-coder.ts): symbols go back to
// front, symbol i on state i % k (k = 2 or 8), each state renormalized a byte at a time below
// 2^16 * freq[s]. Bytes are written downward, ending at out + cap; returns the offset of the first one.
// `states` holds the k initial states and receives the final ones; `scratch` takes 4 KiB of tables.
let encP: usize = 0;

// @ts-ignore: decorator
@inline
function encStep(x: u32, s: usize, freq: usize, xmax: usize, cum: usize, rcp: usize): u32 {
  const f = load<u32>(freq + (s << 2));
  const xm = load<u32>(xmax + (s << 2));
  while (x >= xm) {
    encP--;
    store<u8>(encP, <u8>x);
    x >>>= 8;
  }
  // floor(x / f) without a division: with m = ceil(2^47 / f), (x * m) >> 47 is exact because x < 2^16 f here
  // (renormalized), so x * m < 2^64 and the rounding error x (m - 2^47 / f) / 2^47 < f / 2^31 <= 1 / f.
  const q = <u32>((<u64>x * load<u64>(rcp + (s << 3))) >> 47);
  return (q << SCALE_BITS) + (x - q * f) + load<u32>(cum + (s << 2));
}

export function ransEncode(input: usize, n: i32, freq: usize, states: usize, k: i32, out: usize, cap: i32, scratch: usize): i32 {
  const xmax = scratch;
  const cum = scratch + 1024;
  const rcp = scratch + 2048;
  let c: u32 = 0;
  for (let s: usize = 0; s < 256; s++) {
    const f = load<u32>(freq + (s << 2));
    store<u32>(xmax + (s << 2), ((L >> SCALE_BITS) << 8) * f);
    store<u32>(cum + (s << 2), c);
    store<u64>(rcp + (s << 3), f ? ((<u64>1 << 47) + <u64>f - 1) / <u64>f : 0);
    c += f;
  }
  encP = out + <usize>cap;
  const rounds = k == 8 ? n & ~7 : 0;
  // Generic loop for k = 2, and for the last n % 8 symbols with k = 8.
  for (let i = n - 1; i >= rounds; i--) {
    const sp = states + (<usize>(i % k) << 2);
    store<u32>(sp, encStep(load<u32>(sp), <usize>load<u8>(input + <usize>i), freq, xmax, cum, rcp));
  }
  if (k == 8 && rounds > 0) {
    let x0 = load<u32>(states);
    let x1 = load<u32>(states, 4);
    let x2 = load<u32>(states, 8);
    let x3 = load<u32>(states, 12);
    let x4 = load<u32>(states, 16);
    let x5 = load<u32>(states, 20);
    let x6 = load<u32>(states, 24);
    let x7 = load<u32>(states, 28);
    for (let b = rounds - 8; b >= 0; b -= 8) {
      const p = input + <usize>b;
      x7 = encStep(x7, <usize>load<u8>(p, 7), freq, xmax, cum, rcp);
      x6 = encStep(x6, <usize>load<u8>(p, 6), freq, xmax, cum, rcp);
      x5 = encStep(x5, <usize>load<u8>(p, 5), freq, xmax, cum, rcp);
      x4 = encStep(x4, <usize>load<u8>(p, 4), freq, xmax, cum, rcp);
      x3 = encStep(x3, <usize>load<u8>(p, 3), freq, xmax, cum, rcp);
      x2 = encStep(x2, <usize>load<u8>(p, 2), freq, xmax, cum, rcp);
      x1 = encStep(x1, <usize>load<u8>(p, 1), freq, xmax, cum, rcp);
      x0 = encStep(x0, <usize>load<u8>(p), freq, xmax, cum, rcp);
    }
    store<u32>(states, x0);
    store<u32>(states, x1, 4);
    store<u32>(states, x2, 8);
    store<u32>(states, x3, 12);
    store<u32>(states, x4, 16);
    store<u32>(states, x5, 20);
    store<u32>(states, x6, 24);
    store<u32>(states, x7, 28);
  }
  return <i32>(encP - out);
}

// Rounds n f32 values in place to the 16-bit dtype (1 F16, 2 BF16), nearest even, as half-float.ts's roundTo, and
// writes their 16-bit patterns to `bits`. NaN stays NaN (its pattern as toF16Bits / toBf16Bits make it).
export function roundHalf(values: usize, n: i32, dtype: i32, bits: usize): void {
  let i = 0;
  if (dtype == 2) {
    const abs = i32x4.splat(0x7fffffff);
    const inf = i32x4.splat(0x7f800000);
    for (; i + 4 <= n; i += 4) {
      const u = v128.load(values + (<usize>i << 2));
      const nan = i32x4.gt_u(v128.and(u, abs), inf);
      const r = i32x4.shr_u(i32x4.add(i32x4.add(u, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(u, 16), i32x4.splat(1))), 16);
      const h = v128.bitselect(v128.or(i32x4.shr_u(u, 16), i32x4.splat(0x40)), r, nan);
      v128.store(values + (<usize>i << 2), i32x4.shl(h, 16));
      v128.store64_lane(bits + (<usize>i << 1), i16x8.narrow_i32x4_u(h, h), 0);
    }
  }
  for (; i < n; i++) {
    const v = load<f32>(values + (<usize>i << 2));
    const h = dtype == 2 ? bf16Bits(v) : f16Bits(v);
    store<f32>(values + (<usize>i << 2), dtype == 2 ? reinterpret<f32>(h << 16) : f16Value(h));
    store<u16>(bits + (<usize>i << 1), <u16>h);
  }
}

// counts[v] += the number of bytes equal to v in input[0 .. n) (256 u32 counts); `scratch` takes 4 KiB (four
// partial tables, so repeated bytes do not wait on each other's stores).
export function byteCounts(input: usize, n: i32, counts: usize, scratch: usize): void {
  memory.fill(scratch, 0, 4096);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = load<u32>(input + <usize>i);
    const a = scratch + (<usize>(w & 0xff) << 2);
    const b = scratch + 1024 + (<usize>((w >>> 8) & 0xff) << 2);
    const c = scratch + 2048 + (<usize>((w >>> 16) & 0xff) << 2);
    const d = scratch + 3072 + (<usize>(w >>> 24) << 2);
    store<u32>(a, load<u32>(a) + 1);
    store<u32>(b, load<u32>(b) + 1);
    store<u32>(c, load<u32>(c) + 1);
    store<u32>(d, load<u32>(d) + 1);
  }
  for (; i < n; i++) {
    const a = scratch + (<usize>load<u8>(input + <usize>i) << 2);
    store<u32>(a, load<u32>(a) + 1);
  }
  for (let v: usize = 0; v < 256; v++) {
    const p = counts + (v << 2);
    store<u32>(p, load<u32>(p) + load<u32>(scratch + (v << 2)) + load<u32>(scratch + 1024 + (v << 2))
      + load<u32>(scratch + 2048 + (v << 2)) + load<u32>(scratch + 3072 + (v << 2)));
  }
}

export { matmulU8, matmulS8, matmulS16, matmulF32 } from './matmul';
