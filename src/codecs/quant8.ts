/**
 * Per-tensor asymmetric 8-bit quantization, the base-tensor form of the paper:
 * `scale = (max - min) / 255`, `code = round((x - min) / scale)`, `x' = min + code * scale`.
 * A constant tensor has scale 0 and all codes 0. Used by the codecs (base tensors) and by vector-index (the space).
 */

/** An 8-bit tensor: `value(i) = min + codes[i] * scale`. Owns `codes`. */
export interface Quant8 {
  readonly codes: Uint8Array;
  readonly min: number;
  readonly scale: number;
}

/** Quantizes `x`; NaN and infinities are not representable and throw RangeError naming the index. */
export function quantize8(x: Float32Array | Float64Array): Quant8 {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`element ${i} is ${v}: only finite values can be quantized`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (x.length === 0) return { codes: new Uint8Array(0), min: 0, scale: 0 };
  // Math.fround keeps min/scale representable in the float32 fields they are stored in.
  const fmin = Math.fround(min);
  const scale = Math.fround((max - fmin) / 255);
  const codes = new Uint8Array(x.length);
  if (scale > 0) {
    const inv = 1 / scale;
    for (let i = 0; i < x.length; i++) {
      const c = Math.round((x[i]! - fmin) * inv);
      codes[i] = c < 0 ? 0 : c > 255 ? 255 : c;
    }
  }
  return { codes, min: fmin, scale };
}

/** Decodes into `out` (allocated when omitted) as float32. */
export function dequantize8(q: Quant8, out: Float32Array = new Float32Array(q.codes.length)): Float32Array {
  const { codes, min, scale } = q;
  for (let i = 0; i < codes.length; i++) out[i] = min + codes[i]! * scale;
  return out;
}
