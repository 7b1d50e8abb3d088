/**
 * Fixed-size sketches of whole tensors for the `default` compression mode, so the similarity index holds
 * at most `dims` bytes per base instead of the base itself. A tensor with more than `dims` elements is
 * count-sketched: element i is added, with a seeded pseudo-random sign, into one of `dims` buckets. The map
 * is linear, so sketch(x) - sketch(y) = sketch(x - y), and it preserves squared L2 in expectation (a
 * Johnson-Lindenstrauss-style sparse projection), at O(elements) cost with no projection matrix stored.
 * Smaller tensors are their own sketch. Sketches are then 8-bit quantized like bases.
 */
import { invalidArgument } from '../errors.js';
import { quantize8, type Quant8 } from '../codecs/quant8.js';

/** Largest sketch size accepted. */
export const MAX_SKETCH_DIMS = 1024;

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Seeded count-sketch; the same seed and dims give the same sketch for the same tensor. Stateless. */
export class TensorSketcher {
  /** `seed` uint32; `dims` in [1, 1024], default 1024. Throws INVALID_ARGUMENT otherwise. */
  constructor(
    readonly seed: number,
    readonly dims: number = MAX_SKETCH_DIMS,
  ) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw invalidArgument(`sketch seed must be a uint32, got ${seed}`);
    }
    if (!Number.isInteger(dims) || dims < 1 || dims > MAX_SKETCH_DIMS) {
      throw invalidArgument(`sketch dims must be an integer in [1, ${MAX_SKETCH_DIMS}], got ${dims}`);
    }
  }

  /** Length of the sketch of a tensor with `elements` elements. */
  sketchLength(elements: number): number {
    return Math.min(elements, this.dims);
  }

  /** Float sketch of `x` (a copy when `x` is small enough); INVALID_ARGUMENT on a non-finite element. */
  sketch(x: Float32Array): Float32Array {
    if (!(x instanceof Float32Array)) throw invalidArgument('a tensor to sketch must be a Float32Array');
    const n = x.length;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(x[i]!)) {
        throw invalidArgument(`tensor element ${i} is ${x[i]}: only finite values can be sketched`);
      }
    }
    if (n <= this.dims) return x.slice();
    const out = new Float64Array(this.dims);
    // The element count is hashed in so tensors of different sizes use unrelated maps.
    const salt = mix32(this.seed ^ mix32(n));
    for (let i = 0; i < n; i++) {
      const h = mix32(i ^ salt);
      const bucket = Math.floor(((h >>> 1) * this.dims) / 2147483648);
      out[bucket]! += h & 1 ? x[i]! : -x[i]!;
    }
    return Float32Array.from(out);
  }

  /** The 8-bit quantized sketch, the form the sketch index stores. */
  sketchQuant8(x: Float32Array): Quant8 {
    return quantize8(this.sketch(x));
  }
}
