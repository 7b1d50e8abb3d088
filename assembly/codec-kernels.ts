// Kernels of the lossless codec's sparse coder (src/codecs/sparse-coder.ts), compiled to wasm with SIMD by
// scripts/build-kernels.mjs. Results must be identical to TS_CODEC_KERNELS in src/kernels/codec-kernels.ts
// (the reference). Memory: the host copies inputs to addresses at or above heapBase() and reads outputs back;
// nothing here allocates.

/** First free byte after static data: the host lays out its buffers from here. */
export function heapBase(): usize {
  return __heap_base;
}

// Bit (i % 8) of map[i >> 3] = (input[i] != fill); the differing bytes go to `values` in order. Returns
// their count. `values` has room for n bytes (each byte is written at its slot, then kept or overwritten).
export function sparseSplit(input: usize, n: i32, fill: u32, map: usize, values: usize): i32 {
  const f = i8x16.splat(<i8>fill);
  let k: usize = 0;
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const m = i8x16.bitmask(v128.not(i8x16.eq(v128.load(input + i), f)));
    store<u16>(map + (i >> 3), <u16>m);
    if (m == 0) continue;
    let b = m;
    while (b != 0) {
      const t = ctz(b);
      store<u8>(values + k, load<u8>(input + i + t));
      k++;
      b &= b - 1;
    }
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
// past n or the map does not set exactly `count` bits.
export function sparseMerge(map: usize, mapLen: i32, values: usize, count: i32, fill: u32, out: usize, n: i32): i32 {
  memory.fill(out, <u8>fill, <usize>n);
  let k = 0;
  let j = 0;
  for (; j + 16 <= mapLen; j += 16) {
    if (!v128.any_true(v128.load(map + j))) continue;
    for (let q = j; q < j + 16; q++) {
      let b = <u32>load<u8>(map + q);
      const o = q << 3;
      while (b != 0) {
        const idx = o + <i32>ctz(b);
        if (idx >= n || k >= count) return -1;
        store<u8>(out + idx, load<u8>(values + k));
        k++;
        b &= b - 1;
      }
    }
  }
  for (; j < mapLen; j++) {
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
