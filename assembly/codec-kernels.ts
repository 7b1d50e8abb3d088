// Kernels of the lossless codec's sparse coder (src/codecs/sparse-coder.ts), compiled to wasm with SIMD by
// scripts/build-kernels.mjs. Results must be identical to TS_CODEC_KERNELS in src/kernels/codec-kernels.ts
// (the reference). Memory: the host copies inputs to addresses at or above heapBase() and reads outputs back;
// nothing here allocates.

/** First free byte after static data: the host lays out its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}

// Shuffle tables of the sparse kernels, 8 bytes per byte value b of a map (filled by the start code below):
// COMPACT[b] lists the lanes of b's set bits, lowest first (the lanes a swizzle gathers); EXPAND[b][lane] is the
// rank of `lane` among b's set bits when its bit is set (the value a swizzle scatters there), else 0x80 (a
// swizzle gives 0 there). Unused entries are 0x80.
const COMPACT: usize = memory.data(256 * 8, 16);
const EXPAND: usize = memory.data(256 * 8, 16);
for (let b: u32 = 0; b < 256; b++) {
  let rank: u32 = 0;
  for (let lane: u32 = 0; lane < 8; lane++) {
    store<u8>(COMPACT + b * 8 + lane, 0x80);
    store<u8>(EXPAND + b * 8 + lane, 0x80);
  }
  for (let lane: u32 = 0; lane < 8; lane++) {
    if ((b >> lane) & 1) {
      store<u8>(COMPACT + b * 8 + rank, <u8>lane);
      store<u8>(EXPAND + b * 8 + lane, <u8>rank);
      rank++;
    }
  }
}

// Bit (i % 8) of map[i >> 3] = (input[i] != fill); the differing bytes go to `values` in order. Returns
// their count. `values` has room for n + 16 bytes: a 16-byte block's differing bytes are gathered by two
// swizzles (one per 8-byte half, COMPACT) and stored 16 bytes at a time, the bytes past them overwritten next.
export function sparseSplit(input: usize, n: i32, fill: u32, map: usize, values: usize): i32 {
  const f = i8x16.splat(<i8>fill);
  const eight = i8x16.splat(8);
  let k: usize = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const v = v128.load(input + i);
    const m = i8x16.bitmask(v128.not(i8x16.eq(v, f)));
    store<u16>(map + (i >> 3), <u16>m);
    if (m == 0) continue;
    const lo = m & 0xff;
    const hi = m >> 8;
    v128.store(values + k, i8x16.swizzle(v, v128.load64_zero(COMPACT + (<usize>lo << 3))));
    k += <usize>popcnt(lo);
    v128.store(values + k, i8x16.swizzle(v, i8x16.add(v128.load64_zero(COMPACT + (<usize>hi << 3)), eight)));
    k += <usize>popcnt(hi);
  }
  let m: u32 = 0;
  let t = 0;
  for (; i < n; i++, t++) {
    const v = <u32>load<u8>(input + i);
    if (v != fill) {
      m |= 1 << t;
      store<u8>(values + k, <u8>v);
      k++;
    }
    if (t == 7) {
      store<u8>(map + (i >> 3), <u8>m);
      m = 0;
      t = -1;
    }
  }
  if (t > 0) store<u8>(map + (i >> 3), <u8>m);
  return <i32>k;
}

// out[i] = the next value when bit i of the map is set, else fill. Returns 0, or -1 when a set bit lies at or
// past n or the map does not set exactly `count` bits. `values` is readable for count + 16 bytes: a 16-byte
// block's values are loaded at once and scattered by one swizzle (EXPAND; the high half's ranks follow the
// low half's), the other lanes taking fill.
export function sparseMerge(map: usize, mapLen: i32, values: usize, count: i32, fill: u32, out: usize, n: i32): i32 {
  const f = i8x16.splat(<i8>fill);
  const sixteen = i8x16.splat(16);
  let k = 0;
  let i = 0;
  for (; i + 16 <= n && (i >> 3) + 2 <= mapLen; i += 16) {
    const m = <u32>load<u16>(map + (i >> 3));
    if (m == 0) {
      v128.store(out + i, f);
      continue;
    }
    const lo = m & 0xff;
    const hi = m >> 8;
    const below = <i32>popcnt(lo);
    const here = below + <i32>popcnt(hi);
    if (k + here > count) return -1;
    const idxLo = v128.load64_zero(EXPAND + (<usize>lo << 3));
    const idxHi = i8x16.add(v128.load64_zero(EXPAND + (<usize>hi << 3)), i8x16.splat(<i8>below));
    const idx = i8x16.shuffle(idxLo, idxHi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
    const got = i8x16.swizzle(v128.load(values + k), idx);
    v128.store(out + i, v128.bitselect(got, f, i8x16.lt_u(idx, sixteen)));
    k += here;
  }
  // The rest of out (fewer than 16 bytes, or the part a short map leaves): fill, then the map's remaining
  // bytes scattered one bit at a time, each checked against n.
  if (i < n) memory.fill(out + i, <u8>fill, <usize>(n - i));
  for (let j = i >> 3; j < mapLen; j++) {
    let b = <u32>load<u8>(map + j);
    const o = j << 3;
    while (b != 0) {
      const idx = o + <i32>ctz(b);
      if (idx >= n || k >= count) return -1;
      store<u8>(out + idx, load<u8>(values + k));
      k++;
      b &= b - 1;
    }
  }
  return k == count ? 0 : -1;
}

// XXH32 (Yann Collet's xxHash, 32-bit) of n bytes at `input`: a fast checksum for chunk verification.
const P1: u32 = 2654435761;
const P2: u32 = 2246822519;
const P3: u32 = 3266489917;
const P4: u32 = 668265263;
const P5: u32 = 374761393;

// @ts-ignore: decorator
@inline
function round(v: u32, lane: u32): u32 {
  return rotl<u32>(v + lane * P2, 13) * P1;
}

export function xxh32(input: usize, n: i32, seed: u32): u32 {
  let p = input;
  const end = input + <usize>n;
  let h: u32;
  if (n >= 16) {
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    const limit = end - 16;
    while (p <= limit) {
      v1 = round(v1, load<u32>(p));
      v2 = round(v2, load<u32>(p, 4));
      v3 = round(v3, load<u32>(p, 8));
      v4 = round(v4, load<u32>(p, 12));
      p += 16;
    }
    h = rotl<u32>(v1, 1) + rotl<u32>(v2, 7) + rotl<u32>(v3, 12) + rotl<u32>(v4, 18);
  } else {
    h = seed + P5;
  }
  h += <u32>n;
  while (p + 4 <= end) {
    h = rotl<u32>(h + load<u32>(p) * P3, 17) * P4;
    p += 4;
  }
  while (p < end) {
    h = rotl<u32>(h + <u32>load<u8>(p) * P5, 11) * P1;
    p++;
  }
  h ^= h >> 15;
  h *= P2;
  h ^= h >> 13;
  h *= P3;
  h ^= h >> 16;
  return h;
}

// Byte planes of the lossless codec, interleaved and split in this module's memory (the host decodes planes
// straight into it and zstd codes planes straight from it). mergePlanes: out[i * width + k] = planes[k * n + i],
// XOR base[i * width + k] when base != 0; out may be base (each 16-byte block is read before it is written).
export function mergePlanes(planes: usize, width: i32, n: i32, base: usize, out: usize): void {
  let i = 0;
  if (width == 2) {
    for (; i + 16 <= n; i += 16) {
      const lo = v128.load(planes + i);
      const hi = v128.load(planes + n + i);
      let a = i8x16.shuffle(lo, hi, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
      let b = i8x16.shuffle(lo, hi, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
      const o = <usize>i << 1;
      if (base != 0) {
        a = v128.xor(a, v128.load(base + o));
        b = v128.xor(b, v128.load(base + o + 16));
      }
      v128.store(out + o, a);
      v128.store(out + o + 16, b);
    }
  } else if (width == 4) {
    for (; i + 4 <= n; i += 4) {
      let v = i32x4.splat(load<i32>(planes + i));
      v = i32x4.replace_lane(v, 1, load<i32>(planes + n + i));
      v = i32x4.replace_lane(v, 2, load<i32>(planes + 2 * n + i));
      v = i32x4.replace_lane(v, 3, load<i32>(planes + 3 * n + i));
      v = i8x16.shuffle(v, v, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      const o = <usize>i << 2;
      if (base != 0) v = v128.xor(v, v128.load(base + o));
      v128.store(out + o, v);
    }
  } else if (width == 1) {
    for (; i + 16 <= n; i += 16) {
      let v = v128.load(planes + i);
      if (base != 0) v = v128.xor(v, v128.load(base + i));
      v128.store(out + i, v);
    }
  }
  for (; i < n; i++) {
    for (let k = 0; k < width; k++) {
      const o = <usize>i * width + k;
      let v = load<u8>(planes + <usize>k * n + i);
      if (base != 0) v ^= load<u8>(base + o);
      store<u8>(out + o, v);
    }
  }
}

// The inverse: planes[k * n + i] = src[i * width + k], XOR base[i * width + k] when base != 0, or XOR
// basePlanes[k * n + i] when basePlanes != 0 (a base already split into planes; not both).
export function splitPlanes(src: usize, width: i32, n: i32, base: usize, basePlanes: usize, planes: usize): void {
  let i = 0;
  if (width == 2) {
    for (; i + 16 <= n; i += 16) {
      const o = <usize>i << 1;
      let a = v128.load(src + o);
      let b = v128.load(src + o + 16);
      if (base != 0) {
        a = v128.xor(a, v128.load(base + o));
        b = v128.xor(b, v128.load(base + o + 16));
      }
      let lo = i8x16.shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      let hi = i8x16.shuffle(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
      if (basePlanes != 0) {
        lo = v128.xor(lo, v128.load(basePlanes + i));
        hi = v128.xor(hi, v128.load(basePlanes + n + i));
      }
      v128.store(planes + i, lo);
      v128.store(planes + n + i, hi);
    }
  } else if (width == 4) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      let v = v128.load(src + o);
      if (base != 0) v = v128.xor(v, v128.load(base + o));
      v = i8x16.shuffle(v, v, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
      if (basePlanes != 0) {
        let w = i32x4.splat(load<i32>(basePlanes + i));
        w = i32x4.replace_lane(w, 1, load<i32>(basePlanes + n + i));
        w = i32x4.replace_lane(w, 2, load<i32>(basePlanes + 2 * n + i));
        w = i32x4.replace_lane(w, 3, load<i32>(basePlanes + 3 * n + i));
        v = v128.xor(v, w);
      }
      store<i32>(planes + i, i32x4.extract_lane(v, 0));
      store<i32>(planes + n + i, i32x4.extract_lane(v, 1));
      store<i32>(planes + 2 * n + i, i32x4.extract_lane(v, 2));
      store<i32>(planes + 3 * n + i, i32x4.extract_lane(v, 3));
    }
  } else if (width == 1) {
    for (; i + 16 <= n; i += 16) {
      let v = v128.load(src + i);
      if (base != 0) v = v128.xor(v, v128.load(base + i));
      if (basePlanes != 0) v = v128.xor(v, v128.load(basePlanes + i));
      v128.store(planes + i, v);
    }
  }
  for (; i < n; i++) {
    for (let k = 0; k < width; k++) {
      const o = <usize>i * width + k;
      let v = load<u8>(src + o);
      if (base != 0) v ^= load<u8>(base + o);
      if (basePlanes != 0) v ^= load<u8>(basePlanes + <usize>k * n + i);
      store<u8>(planes + <usize>k * n + i, v);
    }
  }
}

// dst[i] ^= src[i] for n bytes (byte planes of a base chain, XORed in the plane domain).
export function xorInto(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) v128.store(dst + i, v128.xor(v128.load(dst + i), v128.load(src + i)));
  for (; i < n; i++) store<u8>(dst + i, load<u8>(dst + i) ^ load<u8>(src + i));
}
