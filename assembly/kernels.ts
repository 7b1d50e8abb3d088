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

export { matmulU8, matmulS8, matmulS16, matmulF32 } from './matmul';
