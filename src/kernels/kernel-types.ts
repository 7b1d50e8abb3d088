/**
 * The kernel contract: the hot loops of the codecs, index and runtime, implemented twice (wasm SIMD and plain
 * TS) with bit-identical results. Callers own every array; kernels write only `out` and never keep references.
 * Arguments are not validated here (the callers, which know the shapes, do that; the matmul kernels are the exception): lengths must match as
 * documented, otherwise results are unspecified. Bit-identity covers every finite input and infinities; a NaN
 * input gives NaN, but wasm does not pin NaN sign/payload bits, so callers must not rely on NaN bit patterns
 * (the codecs store non-finite values verbatim instead of passing them through the float kernels).
 */

/** How encodeGroups computes a group's step from its magnitude (see there). */
export interface StepRule {
  readonly shrink: number;
  readonly halfMaxCode: number;
}

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
  /**
   * Per-tensor 8-bit quantization (codecs/quant8.ts) into `codes`: fmin = f32(min x), scale = f32((max x -
   * fmin) / 255), codes[i] = clamp(Math.round((x[i] - fmin) * (1 / scale)), 0, 255) in float64 (all 0 when
   * scale is 0; min 0 and scale 0 for an empty x). Null when an element is NaN or infinite (codes unspecified).
   */
  quantize8(x: Float32Array | Float64Array, codes: Uint8Array): { min: number; scale: number } | null;
  /**
   * Residual codes: out[i] = Math.round((x[i] - base[i]) * inv) in float64. Returns the largest |out[i]|, or
   * -1 when one is not below maxCode (at most 2^31) in magnitude or is NaN (`out` is then unspecified).
   */
  residualCodes(x: Float32Array, base: Float32Array, inv: number, maxCode: number, out: Int32Array): number;
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
   * Group-delta decoding straight from one-byte codes (src/codecs/group-delta.ts): for element i of group
   * k with steps[k] > 0, out[i] = f32(base[i] + f32(f32(q) * steps[k])) (no base: f32(f32(q) * steps[k])),
   * q = centers[k] + unzigzag(d), d = the next code, or for a code of 255, 255 + the next LEB128 varint of
   * `overflow` (at most 4 bytes). Groups with steps[k] <= 0 take no codes and their elements of `out` are set
   * to 0 (raw groups: the caller fills them). Callers keep |centers[k]| <= maxCode <= 2^23, so nothing
   * overflows 32 bits. Returns the bytes of `overflow` used, or -1 - i when |q| of element i exceeds maxCode,
   * or -1 - out.length - i when element i's overflow varint is missing, cut off or longer than 4 bytes
   * (`out` is then unspecified).
   */
  dequantizeCodes(
    codes: Uint8Array,
    centers: Int32Array,
    steps: Float32Array,
    overflow: Uint8Array,
    base: Float32Array | null,
    groupSize: number,
    maxCode: number,
    out: Float32Array,
  ): number;
  /**
   * Per-group magnitudes for group-delta steps: out[k] = the largest of |x[i]| and |x[i] - base[i]| (in
   * float64; no base: |x[i]|) over group k, or -1 when an element of x or base in the group is NaN or
   * infinite. out must have ceil(x.length / groupSize) entries. x and base are float32 values, or (as
   * Uint16Array) bit patterns of the 16-bit type `half` (1 F16, 2 BF16), widened exactly.
   */
  groupMagnitudes(x: Float32Array | Uint16Array, base: Float32Array | Uint16Array | null, groupSize: number, out: Float64Array, half?: 1 | 2): void;
  /**
   * Fused group-delta encoding (src/codecs/group-delta.ts), for each group k with steps[k] > 0:
   * q[i] = sat_i32(floor((x[i] - base[i]) / steps[k] + 0.5)) in float64 (no base: x[i]); the decoded value
   * r(q) = round_dtype(f32(base[i] + f32(f32(q) * steps[k]))) (no base: round_dtype(f32(f32(q) * steps[k])));
   * when |r(q) - x[i]| > tol (float64), q - 1 and then q + 1 are tried, and when neither is within tol the
   * group is dropped: steps[k] is set to 0 and it takes no codes. For a kept group: centers[k] =
   * Math.round(sum of q / group length); per element, z = zigzag(q - center) goes to `codes` (255 when
   * z >= 255, with the LEB128 varint of z - 255 appended to `overflow`); `decoded` receives r(q) as the
   * dtype's bits (dtype 0 F32: u32 at element i, 1 F16 and 2 BF16: u16 at element i, little-endian).
   * Groups with steps[k] <= 0 (or dropped) leave `decoded` and centers[k] unspecified. `codes` needs
   * x.length bytes, `overflow` 4 * x.length, `decoded` x.length * (4 or 2). Returns the codes and overflow
   * bytes written and the largest |r(q) - x[i]| over the kept groups (0 if none). Callers pass finite
   * values in the groups with steps > 0 and steps with |q| < 2^23. x and base are float32 values, or (as
   * Uint16Array, dtype F16 or BF16 only) bit patterns of `dtype`, widened exactly.
   * With a `rule`, steps are not read but computed first, per group, and written to `steps`: m = the group's
   * magnitude as groupMagnitudes computes it; m = -1 gives 0; else budget = u(m, 23, -126) + (dtype 0: 0,
   * F16: u(m, 10, -14), BF16: u(m, 7, -126)) with u(m, mant, minExp) = 2^(e + 1 - mant), e = max(the binary
   * exponent of m (floor(log2 m), exactly), minExp) (minExp for m = 0); step = f32((2 tol - budget) * shrink),
   * or f32(2 tol * shrink) when that is below tol; and 0 unless m / step < halfMaxCode.
   */
  encodeGroups(
    x: Float32Array | Uint16Array,
    base: Float32Array | Uint16Array | null,
    steps: Float32Array,
    groupSize: number,
    tol: number,
    dtype: 0 | 1 | 2,
    codes: Uint8Array,
    overflow: Uint8Array,
    centers: Int32Array,
    decoded: Uint8Array,
    rule?: StepRule,
  ): { codes: number; overflow: number; maxError: number };
  /**
   * Rounds `values` in place to the 16-bit `dtype` (1 F16, 2 BF16) as half-float.ts's roundTo does, and writes
   * each one's 16-bit pattern (toF16Bits / toBf16Bits) to `bits` (same length). NaN gives the pattern those
   * functions give it (sign and payload kept, quiet bit set), and stays NaN in `values`.
   */
  roundHalf(values: Float32Array, dtype: 1 | 2, bits: Uint16Array): void;
  /** counts[v] += the number of bytes of `input` equal to v (counts has 256 entries; it is added to, not reset). */
  byteCounts(input: Uint8Array, counts: Uint32Array): void;
  /**
   * Order-0 rANS encode, the inverse of `ransDecode`: symbols from last to first, symbol i on state i % K
   * (K = states.length, 2 or 8; the states start at 2^23 and receive the final states), frequencies `freq`
   * (256 entries summing to 2^15; every symbol of `input` present), renormalizing a byte at a time while a
   * state is >= 2^16 * freq[s]. The stream is written backwards ending at out.length (out needs at least
   * 2 * input.length + 8 bytes); returns the offset of its first byte.
   */
  ransEncode(input: Uint8Array, freq: Uint32Array, states: Uint32Array, out: Uint8Array): number;
  /**
   * `dequantizeCodes` straight to the decoded values' 16-bit patterns: for element i of a group with
   * steps[k] > 0, bits[i] = toF16Bits (dtype 1) or toBf16Bits (2) of f32(base[i] + f32(f32(q) * steps[k]))
   * (no base: of f32(f32(q) * steps[k])). Elements of groups with steps[k] <= 0 are unspecified. `base`
   * is float32 values or (Uint16Array) patterns of `dtype`. Returns as dequantizeCodes (bits.length elements).
   */
  dequantizeCodesHalf(
    codes: Uint8Array,
    centers: Int32Array,
    steps: Float32Array,
    overflow: Uint8Array,
    base: Float32Array | Uint16Array | null,
    groupSize: number,
    maxCode: number,
    dtype: 1 | 2,
    bits: Uint16Array,
  ): number;
  /**
   * Order-0 rANS decode (K = 2 or 8 interleaved 32-bit states, 2^15 total frequency, byte renormalization;
   * the format of src/codecs/rans-coder.ts): fills `out` from `stream`, starting from `states` (K entries,
   * each in [2^23, 2^31)). `freq` has 256 entries summing to 2^15 (the caller checks). Returns the stream
   * bytes consumed, -1 if the stream ends early, -2 if the final states are not all 2^23 (corruption).
   */
  ransDecode(freq: Uint32Array, stream: Uint8Array, states: Uint32Array, out: Uint8Array): number;

  // Direct y = x·W over a weight tensor W still in its stored form (issue #6), never decoded to float32.
  // Shared shape: x is m×k row-major, W is k×n row-major (element W[t][j] at t*n + j), out is m×n row-major.
  // Unlike the kernels above, these check their shapes (cheap next to the O(m·k·n) work) and throw
  // NeurStoreError INVALID_ARGUMENT unless m, k, n are non-negative integers and the lengths are exactly
  // m*k, k*n and m*n. Every operation rounds to float32, in this order (no fused multiply-add); f32(v) is
  // Math.fround:
  //   acc_j = Σ_t f32(x[i,t] * w[t][j])  summed in float32 from +0, t = 0..k-1 in order (w[t][j] is the code
  //          itself, or the float32 weight for matmulF32);
  //   r_j   = the kernel's finish (below);  out[i*n + j] = accumulate ? f32(out[i*n + j] + r_j) : r_j.
  // min and scale are rounded to float32 first (quant8 already stores them as float32). Rows of out are
  // independent, so results do not depend on m or on how the wasm side blocks rows and columns. out must not
  // share memory with x or W (the TS loop would read values it already wrote).

  /**
   * y = x·W for an affine 8-bit W (as src/codecs/quant8.ts makes): W[t][j] = min + codes[t*n + j] * scale.
   * r_j = f32(f32(acc_j * scale) + f32(sx * min)), with sx = Σ_t x[i,t] summed in float32 in order t.
   */
  matmulU8(x: Float32Array, m: number, k: number, codes: Uint8Array, n: number, min: number, scale: number,
    out: Float32Array, accumulate: boolean): void;
  /** y = x·W for a symmetric 8-bit W: W[t][j] = codes[t*n + j] * scale; r_j = f32(acc_j * scale). */
  matmulS8(x: Float32Array, m: number, k: number, codes: Int8Array, n: number, scale: number,
    out: Float32Array, accumulate: boolean): void;
  /** matmulS8 with 16-bit codes: W[t][j] = codes[t*n + j] * scale; r_j = f32(acc_j * scale). */
  matmulS16(x: Float32Array, m: number, k: number, codes: Int16Array, n: number, scale: number,
    out: Float32Array, accumulate: boolean): void;
  /** y = x·W for a float32 W (the decode-then-multiply baseline): r_j = acc_j. */
  matmulF32(x: Float32Array, m: number, k: number, w: Float32Array, n: number,
    out: Float32Array, accumulate: boolean): void;
}
