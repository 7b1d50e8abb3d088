/**
 * Test support: runs the small MNIST classifier of the shared tinygrad checkpoints and of the MNIST family,
 * `logits = l2 · leaky_relu(l1 · x)` with no biases, in plain TypeScript, to measure accuracy before and
 * after a model goes through the store. No runtime, no tfjs: the loops are the oracle.
 *
 * `readMnistSafetensors` reads the two tensors straight from the file's bytes (8-byte little-endian header
 * length, JSON header, F32 data) rather than through the project's reader, so a store bug cannot hide in
 * both the thing measured and the measuring stick.
 */
import { readFileSync } from 'node:fs';
import { corruption, invalidArgument } from '../../errors.js';
import { MNIST_CLASSES, MNIST_PIXELS, type MnistDigits } from './mnist-digits.js';

/** tinygrad's `Tensor.leakyrelu` default negative slope, which the shared checkpoints were trained with. */
export const TINYGRAD_LEAKY_SLOPE = 0.01;

/** The two weight matrices: `l1` is [hidden, 784] row-major, `l2` is [10, hidden] row-major. */
export interface MnistWeights {
  readonly l1: Float32Array;
  readonly l2: Float32Array;
}

export interface MnistEvalOptions {
  /** Negative slope of the leaky ReLU; default `TINYGRAD_LEAKY_SLOPE` (0.01). */
  readonly leakySlope?: number;
}

function hiddenSize(l1: Float32Array, l2: Float32Array): number {
  const hidden = l1.length / MNIST_PIXELS;
  if (!Number.isInteger(hidden) || hidden < 1) {
    throw invalidArgument(`l1 has ${l1.length} values; expected [hidden, ${MNIST_PIXELS}]`);
  }
  if (l2.length !== MNIST_CLASSES * hidden) {
    throw invalidArgument(`l2 has ${l2.length} values; expected [${MNIST_CLASSES}, ${hidden}] to match l1`);
  }
  return hidden;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}

/**
 * The logits of every digit: a new Float32Array of `digits.count * 10`, row i holding image i's 10 scores.
 * Sums run in float64 and skip zero pixels (most of an MNIST image). Throws INVALID_ARGUMENT when the
 * weights' sizes do not fit the architecture or the images are not whole 784-float images.
 */
export function mnistLogits(l1: Float32Array, l2: Float32Array, digits: MnistDigits, opts: MnistEvalOptions = {}): Float32Array {
  const hidden = hiddenSize(l1, l2);
  const slope = opts.leakySlope ?? TINYGRAD_LEAKY_SLOPE;
  if (!Number.isFinite(slope)) throw invalidArgument(`leakySlope ${slope} is not a finite number`);
  if (digits.images.length !== digits.count * MNIST_PIXELS || digits.labels.length !== digits.count) {
    throw invalidArgument(`digits: ${digits.images.length} pixels and ${digits.labels.length} labels for count ${digits.count}`);
  }
  // Column k of l1 becomes a contiguous row, so each lit pixel adds one contiguous run to the hidden layer.
  const l1t = transpose(l1, hidden, MNIST_PIXELS);
  const h = new Float64Array(hidden);
  const out = new Float32Array(digits.count * MNIST_CLASSES);
  for (let i = 0; i < digits.count; i++) {
    h.fill(0);
    const base = i * MNIST_PIXELS;
    for (let k = 0; k < MNIST_PIXELS; k++) {
      const x = digits.images[base + k]!;
      if (x === 0) continue;
      const row = k * hidden;
      for (let j = 0; j < hidden; j++) h[j] += x * l1t[row + j]!;
    }
    for (let j = 0; j < hidden; j++) if (h[j]! < 0) h[j] = h[j]! * slope;
    for (let c = 0; c < MNIST_CLASSES; c++) {
      let s = 0;
      const row = c * hidden;
      for (let j = 0; j < hidden; j++) s += l2[row + j]! * h[j]!;
      out[i * MNIST_CLASSES + c] = s;
    }
  }
  return out;
}

/** The predicted digit of each image (the first of equal top scores). */
export function mnistPredictions(l1: Float32Array, l2: Float32Array, digits: MnistDigits, opts: MnistEvalOptions = {}): Uint8Array {
  const logits = mnistLogits(l1, l2, digits, opts);
  const pred = new Uint8Array(digits.count);
  for (let i = 0; i < digits.count; i++) {
    let best = 0;
    for (let c = 1; c < MNIST_CLASSES; c++) {
      if (logits[i * MNIST_CLASSES + c]! > logits[i * MNIST_CLASSES + best]!) best = c;
    }
    pred[i] = best;
  }
  return pred;
}

/**
 * Fraction of `digits` classified correctly, in [0, 1]. Throws INVALID_ARGUMENT for an empty set or weights
 * that do not fit the architecture.
 */
export function mnistAccuracy(l1: Float32Array, l2: Float32Array, digits: MnistDigits, opts: MnistEvalOptions = {}): number {
  if (digits.count === 0) throw invalidArgument('cannot measure accuracy on an empty digit set');
  const pred = mnistPredictions(l1, l2, digits, opts);
  let right = 0;
  for (let i = 0; i < digits.count; i++) if (pred[i] === digits.labels[i]) right++;
  return right / digits.count;
}

interface HeaderEntry {
  dtype?: unknown;
  shape?: unknown;
  data_offsets?: unknown;
}

function tensorOf(path: string, bytes: Uint8Array, header: Record<string, HeaderEntry>, dataStart: number, name: string): Float32Array {
  const e = header[name];
  if (e === undefined) throw invalidArgument(`${path}: no tensor named ${name}; not an MNIST model file`);
  if (e.dtype !== 'F32') throw invalidArgument(`${path}: ${name} has dtype ${String(e.dtype)}; only F32 is read`);
  const shape = e.shape;
  const offs = e.data_offsets;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw corruption(path, 8, `${name}: shape ${JSON.stringify(shape)} is not a list of sizes`);
  }
  if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0)) {
    throw corruption(path, 8, `${name}: data_offsets ${JSON.stringify(offs)} is not a pair of offsets`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const [begin, end] = offs as [number, number];
  if (end - begin !== count * 4 || dataStart + end > bytes.length) {
    throw corruption(path, dataStart + begin, `${name}: bytes ${begin}..${end} do not hold ${count} F32 values in the file`);
  }
  // Copy: the data may sit at any byte offset, and a Float32Array view needs 4-byte alignment (hosts are
  // little-endian, like the format).
  const copy = bytes.slice(dataStart + begin, dataStart + end);
  const out = new Float32Array(copy.buffer, 0, count);
  return out;
}

/**
 * Reads `l1.weight` and `l2.weight` (F32) from the safetensors file at `path`. Throws CORRUPTION (naming
 * the file and offset) for a malformed file and INVALID_ARGUMENT when a tensor is missing or not F32.
 */
export function readMnistSafetensors(path: string): MnistWeights {
  const bytes = new Uint8Array(readFileSync(path));
  if (bytes.length < 8) throw corruption(path, 0, `file of ${bytes.length} bytes is too short for a header length`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength < 2 || 8 + headerLength > bytes.length) {
    throw corruption(path, 0, `header length ${headerLength} does not fit a file of ${bytes.length} bytes`);
  }
  let header: Record<string, HeaderEntry>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw corruption(path, 8, `header is not UTF-8 JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw corruption(path, 8, 'header is not a JSON object');
  }
  const l1 = tensorOf(path, bytes, header, 8 + headerLength, 'l1.weight');
  const l2 = tensorOf(path, bytes, header, 8 + headerLength, 'l2.weight');
  hiddenSize(l1, l2);
  return { l1, l2 };
}
