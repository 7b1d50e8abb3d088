/**
 * The codec kernels' contract and their plain-TS implementation, the reference the wasm version
 * (assembly/codec-kernels.ts) must match exactly. Callers own every array; kernels write only their outputs.
 */

export interface CodecKernels {
  /**
   * Splits `input` against `fill`: bit (i % 8) of map[i >> 3] is set when input[i] != fill (map has
   * ceil(n / 8) bytes and is overwritten), and the differing bytes go to `values` in order (values has at
   * least n bytes). Returns how many differ.
   */
  sparseSplit(input: Uint8Array, fill: number, map: Uint8Array, values: Uint8Array): number;
  /**
   * The inverse: out[i] = the next byte of `values` when bit i of `map` is set, else `fill`. Returns 0, or -1
   * when the map sets a bit at or past out.length or does not set exactly values.length bits (out is then
   * unspecified). map has ceil(out.length / 8) bytes.
   */
  sparseMerge(map: Uint8Array, values: Uint8Array, fill: number, out: Uint8Array): number;
  /** XXH32 (xxHash, 32-bit) of `input` with `seed`, as an unsigned 32-bit number. */
  xxh32(input: Uint8Array, seed: number): number;
  /** Work memory for the lossless codec's byte planes (see PlaneArena). */
  readonly arena: PlaneArena;
}

/**
 * Regions of work memory the lossless codec decodes byte planes into and codes them from, so that planes,
 * bases and XORs never take a trip through ordinary memory on the way to or from the wasm kernels: zstd
 * writes and reads the regions directly, the sparse coder's kernels work on them in place, and merging
 * (with the XOR against a base) copies out once. Regions: 0 holds the planes (`width` planes of
 * length / width bytes), 1 the bytes to split or the base to merge against, 2 the base to split against (a
 * base chain's planes are decoded and XORed as planes: see `decodeLosslessChain`). One user at a time per
 * thread: `reserve`, fill the regions, `merge`, `split` or `xor` them, code, then `release`.
 */
export interface PlaneArena {
  /**
   * Views of `count` regions of `length` bytes (contents unspecified), valid until `release()` (a wasm
   * arena's are views of its module's memory, which the other kernels of the module leave alone meanwhile);
   * null when they would not fit (the caller takes the ordinary-memory path).
   */
  reserve(length: number, count: number): Uint8Array[] | null;
  /** out[i * width + k] = region0[k * n + i] (n = out.length / width), XOR region1[i * width + k] when `xor`. */
  merge(width: number, xor: boolean, out: Uint8Array): void;
  /**
   * region0[k * n + i] = region1[i * width + k], XOR region2[i * width + k] when `against` is 'bytes' (a base
   * as bytes), XOR region2[k * n + i] when it is 'planes' (a base already in planes: one pass, not a split and
   * an `xor`); `length` bytes.
   */
  split(width: number, against: 'bytes' | 'planes' | null): void;
  /** region`to`[i] ^= region`from`[i] for `length` bytes (planes of a base chain, XORed as planes). */
  xor(to: number, from: number): void;
  release(): void;
}

/** A PlaneArena in ordinary memory, with the TS loops (the reference and fallback of the wasm one). */
export function tsPlaneArena(): PlaneArena {
  const regions: Uint8Array[] = [];
  let held: Uint8Array[] = [];
  return {
    reserve(length, count) {
      for (let r = 0; r < count; r++) {
        if (!regions[r] || regions[r]!.length < length) regions[r] = new Uint8Array(length);
      }
      held = regions.slice(0, count).map((b) => b.subarray(0, length));
      return held;
    },
    merge(width, xor, out) {
      const [planes, base] = held as [Uint8Array, Uint8Array];
      const n = out.length / width;
      for (let k = 0; k < width; k++) {
        const plane = planes.subarray(k * n, (k + 1) * n);
        if (xor) for (let i = 0, o = k; i < n; i++, o += width) out[o] = plane[i]! ^ base[o]!;
        else for (let i = 0, o = k; i < n; i++, o += width) out[o] = plane[i]!;
      }
    },
    split(width, against) {
      const [planes, src, base] = held as [Uint8Array, Uint8Array, Uint8Array];
      const n = src.length / width;
      for (let k = 0; k < width; k++) {
        const plane = planes.subarray(k * n, (k + 1) * n);
        if (against === 'bytes') for (let i = 0, o = k; i < n; i++, o += width) plane[i] = src[o]! ^ base[o]!;
        else if (against === 'planes') for (let i = 0, o = k, b = k * n; i < n; i++, o += width) plane[i] = src[o]! ^ base[b + i]!;
        else for (let i = 0, o = k; i < n; i++, o += width) plane[i] = src[o]!;
      }
    },
    xor(to, from) {
      const [a, b] = [held[to]!, held[from]!];
      for (let i = 0; i < a.length; i++) a[i]! ^= b[i]!;
    },
    release() {
      held = [];
    },
  };
}

const P1 = 2654435761;
const P2 = 2246822519;
const P3 = 3266489917;
const P4 = 668265263;
const P5 = 374761393;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const round = (v: number, lane: number): number => Math.imul(rotl((v + Math.imul(lane, P2)) | 0, 13), P1);

export const TS_CODEC_KERNELS: CodecKernels = {
  arena: tsPlaneArena(),
  sparseSplit(input, fill, map, values) {
    const n = input.length;
    let k = 0;
    const whole = n >>> 3;
    for (let j = 0; j < whole; j++) {
      let m = 0;
      const o = j << 3;
      for (let t = 0; t < 8; t++) {
        const v = input[o + t]!;
        const d = v !== fill ? 1 : 0;
        m |= d << t;
        values[k] = v;
        k += d;
      }
      map[j] = m;
    }
    if (whole < map.length) {
      let m = 0;
      for (let i = whole << 3, t = 0; i < n; i++, t++) {
        const v = input[i]!;
        if (v !== fill) {
          m |= 1 << t;
          values[k++] = v;
        }
      }
      map[whole] = m;
    }
    return k;
  },

  sparseMerge(map, values, fill, out) {
    out.fill(fill);
    const n = out.length;
    const count = values.length;
    let k = 0;
    for (let j = 0; j < map.length; j++) {
      let b = map[j]!;
      if (b === 0) continue;
      const o = j << 3;
      do {
        const i = o + (31 - Math.clz32(b & -b));
        if (i >= n || k >= count) return -1;
        out[i] = values[k++]!;
        b &= b - 1;
      } while (b !== 0);
    }
    return k === count ? 0 : -1;
  },

  xxh32(input, seed) {
    const n = input.length;
    const dv = new DataView(input.buffer, input.byteOffset, n);
    let p = 0;
    let h: number;
    if (n >= 16) {
      let v1 = (seed + P1 + P2) | 0;
      let v2 = (seed + P2) | 0;
      let v3 = seed | 0;
      let v4 = (seed - P1) | 0;
      for (; p <= n - 16; p += 16) {
        v1 = round(v1, dv.getUint32(p, true));
        v2 = round(v2, dv.getUint32(p + 4, true));
        v3 = round(v3, dv.getUint32(p + 8, true));
        v4 = round(v4, dv.getUint32(p + 12, true));
      }
      h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
    } else {
      h = (seed + P5) | 0;
    }
    h = (h + n) | 0;
    for (; p + 4 <= n; p += 4) h = Math.imul(rotl((h + Math.imul(dv.getUint32(p, true), P3)) | 0, 17), P4);
    for (; p < n; p++) h = Math.imul(rotl((h + Math.imul(input[p]!, P5)) | 0, 11), P1);
    h ^= h >>> 15;
    h = Math.imul(h, P2);
    h ^= h >>> 13;
    h = Math.imul(h, P3);
    h ^= h >>> 16;
    return h >>> 0;
  },
};
