/**
 * The kernel contract: the hot loops of the codecs, index and runtime, implemented twice (wasm SIMD and plain
 * TS) with bit-identical results. Callers own every array; kernels write only `out` and never keep references.
 * Arguments are not validated here (the callers, which know the shapes, do that): lengths must match as
 * documented, otherwise results are unspecified. Bit-identity covers every finite input and infinities; a NaN
 * input gives NaN, but wasm does not pin NaN sign/payload bits, so callers must not rely on NaN bit patterns
 * (the codecs store non-finite values verbatim instead of passing them through the float kernels).
 */

export interface Kernels {
  /** out[i] = a[i] ^ b[i] for i < out.length (a and b at least as long). */
  xorBytes(a: Uint8Array, b: Uint8Array, out: Uint8Array): void;
  /**
   * Byte-plane split of `src` (n elements of `width` bytes): out[k*n + i] = src[i*width + k].
   * src.length must be a multiple of width; out has the same length.
   */
  splitPlanes(src: Uint8Array, width: number, out: Uint8Array): void;
  /** Inverse of splitPlanes. */
  mergePlanes(planes: Uint8Array, width: number, out: Uint8Array): void;
  /** out[i] = f32(min + codes[i] * scale), the product and sum in float64 (as quant8's dequantize8). */
  dequantize8(codes: Uint8Array, min: number, scale: number, out: Float32Array): void;
  /** Squared L2 between two 8-bit quantized vectors of equal length, on their dequantized float64 values. */
  sqL2Quant8(a: Uint8Array, aMin: number, aScale: number, b: Uint8Array, bMin: number, bScale: number): number;
  /** Dot product of two float32 vectors of equal length, in float64 (products are exact). */
  dotF32(a: Float32Array, b: Float32Array): number;
  /**
   * Group-wise uniform quantization: for element i of group g = floor(i / groupSize),
   * out[i] = sat_i32(floor((x[i] - base[i]) / steps[g] + 0.5)) in float64, or 0 when steps[g] <= 0.
   * A null base means 0. steps must have ceil(x.length / groupSize) entries.
   */
  quantizeGroups(
    x: Float32Array,
    base: Float32Array | null,
    steps: Float32Array,
    groupSize: number,
    out: Int32Array,
  ): void;
  /** Inverse: out[i] = f32(base[i] + f32(f32(q[i]) * steps[g])), every operation in float32. */
  dequantizeGroups(
    q: Int32Array,
    base: Float32Array | null,
    steps: Float32Array,
    groupSize: number,
    out: Float32Array,
  ): void;
  /**
   * Order-0 rANS decode (two interleaved 32-bit states, 2^15 total frequency, byte renormalization; the
   * format of src/codecs/rans-coder.ts): fills `out` from `stream`, starting from states x0, x1.
   * `freq` has 256 entries summing to 2^15 (the caller checks). Returns the stream bytes consumed,
   * -1 if the stream ends early, -2 if the final states are not the initial state 2^23 (corruption).
   */
  ransDecode(freq: Uint32Array, stream: Uint8Array, x0: number, x1: number, out: Uint8Array): number;
}
