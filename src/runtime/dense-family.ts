/**
 * Direct computation for a family of dense networks: each weight W is an 8-bit base B (shared by the family)
 * plus a quantized delta Δ_i, and `y = x·Wᵀ` is computed as `x·Bᵀ + x·Δ_iᵀ` by the kernels, never
 * materializing W in float32. Where models read the same input (the first layer), `x·Bᵀ` is computed once
 * per distinct base for the whole family and only `x·Δ_iᵀ` per model.
 *
 * Networks are stacks of bias-free linear layers in the PyTorch layout (weight [out, in], row-major) with a
 * leaky ReLU between them (the MNIST family's architecture); `runDecoded` is the decode-then-run reference.
 */
import { invalidArgument } from '../errors.js';
import { kernels } from '../kernels/kernels.js';
import { dequantize8, type Quant8 } from '../codecs/quant8.js';
import type { QuantDelta } from './load-forms.js';

/** One layer's weight [out, in]: an 8-bit base and, optionally, a residual delta. */
export interface DenseWeight {
  readonly q8: Quant8;
  readonly delta?: QuantDelta;
}

export interface DenseModel {
  readonly layers: readonly DenseWeight[];
}

interface PreparedLayer {
  /** Base codes transposed to [in, out] (one array per distinct base object). */
  readonly base: { readonly codes: Uint8Array; readonly min: number; readonly scale: number };
  readonly delta?: { readonly codes: Int8Array | Int16Array | Float32Array; readonly scale: number };
}

export interface DenseFamilyOptions {
  /** Negative slope of the leaky ReLU between layers (default 0.01). */
  readonly leakySlope?: number;
}

export class DenseFamily {
  private readonly models: PreparedLayer[][];
  private readonly slope: number;

  /** `shapes[l]` is layer l's [out, in]; every model has one weight per layer. */
  constructor(models: readonly DenseModel[], readonly shapes: ReadonlyArray<readonly [number, number]>, options: DenseFamilyOptions = {}) {
    this.slope = options.leakySlope ?? 0.01;
    const transposed = new Map<Uint8Array, Uint8Array>();
    this.models = models.map((m, mi) => {
      if (m.layers.length !== shapes.length) throw invalidArgument(`model ${mi} has ${m.layers.length} layers, expected ${shapes.length}`);
      return m.layers.map((w, l) => {
        const [out, inn] = shapes[l]!;
        if (w.q8.codes.length !== out * inn) throw invalidArgument(`model ${mi} layer ${l}: ${w.q8.codes.length} codes for [${out}, ${inn}]`);
        if (w.delta && w.delta.codes.length !== out * inn) throw invalidArgument(`model ${mi} layer ${l}: delta has ${w.delta.codes.length} codes`);
        let codes = transposed.get(w.q8.codes);
        if (!codes) transposed.set(w.q8.codes, (codes = transpose(w.q8.codes, out, inn)));
        const layer: PreparedLayer = { base: { codes, min: w.q8.min, scale: w.q8.scale } };
        if (!w.delta) return layer;
        const d = w.delta.codes;
        // Int32 deltas (rare: wider than 16 bits) run through the f32 kernel.
        const dc = d instanceof Int32Array ? Float32Array.from(d, (c) => c * w.delta!.scale) : d;
        return { ...layer, delta: { codes: transpose(dc, out, inn), scale: d instanceof Int32Array ? 1 : w.delta.scale } };
      });
    });
  }

  get size(): number {
    return this.models.length;
  }

  /** Outputs of every model for `batch` inputs (x: [batch, in0] row-major), by direct computation. */
  run(x: Float32Array, batch: number): Float32Array[] {
    const k = kernels();
    const [out0, in0] = this.shapes[0]!;
    if (x.length !== batch * in0) throw invalidArgument(`input has ${x.length} values, expected ${batch} x ${in0}`);
    // First layer: one x·Bᵀ per distinct base, shared by the models built on it.
    const baseProducts = new Map<Uint8Array, Float32Array>();
    const hidden = this.models.map((layers) => {
      const l0 = layers[0]!;
      let bx = baseProducts.get(l0.base.codes);
      if (!bx) {
        bx = new Float32Array(batch * out0);
        k.matmulU8(x, batch, in0, l0.base.codes, out0, l0.base.min, l0.base.scale, bx, false);
        baseProducts.set(l0.base.codes, bx);
      }
      const h = bx.slice();
      if (l0.delta) addDelta(x, batch, in0, l0.delta, out0, h);
      return h;
    });
    return this.models.map((layers, mi) => {
      let h = hidden[mi]!;
      for (let l = 1; l < layers.length; l++) {
        leaky(h, this.slope);
        const [out, inn] = this.shapes[l]!;
        const y = new Float32Array(batch * out);
        const w = layers[l]!;
        k.matmulU8(h, batch, inn, w.base.codes, out, w.base.min, w.base.scale, y, false);
        if (w.delta) addDelta(h, batch, inn, w.delta, out, y);
        h = y;
      }
      return h;
    });
  }

  /** The reference: each weight decoded to float32 (base + delta), then a float32 matmul. */
  runDecoded(x: Float32Array, batch: number): Float32Array[] {
    const k = kernels();
    return this.models.map((layers) => {
      let h = x;
      for (let l = 0; l < layers.length; l++) {
        if (l > 0) leaky(h, this.slope);
        const [out, inn] = this.shapes[l]!;
        const w = decodeLayer(layers[l]!);
        const y = new Float32Array(batch * out);
        k.matmulF32(h, batch, inn, w, out, y, false);
        h = y;
      }
      return h;
    });
  }
}

/** W as float32 [in, out]: what decode-then-run materializes. */
function decodeLayer(layer: PreparedLayer): Float32Array {
  const w = dequantize8(layer.base);
  const d = layer.delta;
  if (d) for (let i = 0; i < w.length; i++) w[i] = w[i]! + d.codes[i]! * d.scale;
  return w;
}

function addDelta(x: Float32Array, m: number, k: number, d: NonNullable<PreparedLayer['delta']>, n: number, out: Float32Array): void {
  const kk = kernels();
  if (d.codes instanceof Int8Array) kk.matmulS8(x, m, k, d.codes, n, d.scale, out, true);
  else if (d.codes instanceof Int16Array) kk.matmulS16(x, m, k, d.codes, n, d.scale, out, true);
  else kk.matmulF32(x, m, k, d.codes, n, out, true);
}

function leaky(h: Float32Array, slope: number): void {
  for (let i = 0; i < h.length; i++) if (h[i]! < 0) h[i] = Math.fround(h[i]! * slope);
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose<T extends Uint8Array | Int8Array | Int16Array | Float32Array>(a: T, rows: number, cols: number): T {
  const t = new (a.constructor as new (n: number) => T)(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}
