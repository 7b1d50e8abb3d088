/**
 * Test support: do two copies of a model (the original file and the one the store gave back) still decide the
 * same? Runs real TF.js models with @tensorflow/tfjs on its pure-JS cpu backend, from files, on seeded random
 * images, and measures agreement: the fraction of inputs whose argmax is the same in both copies, plus the
 * largest |output difference|.
 *
 * Graph models (human-models: model.json + shards) run through `tf.loadGraphModel(tf.io.fromMemory(...))`.
 * face-api's `face_expression` is a bare weights manifest with no graph, so its network is rebuilt here from
 * the weights with tf ops, as face-api defines it: a FaceFeatureExtractor (four dense blocks of depthwise-
 * separable convs on a 112x112 image, mean-normalized and scaled to [0, 1], then a 7x7 average pool) and a
 * fully connected layer to 7 expression logits. The weights go through `tf.io.decodeWeights`, which undoes the
 * manifest's uint8 quantization as face-api's loader does.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { invalidArgument } from '../../errors.js';

/** How closely two copies of a model agree on the same inputs. */
export interface Agreement {
  readonly inputs: number;
  /** Inputs whose argmax is the same in both copies. */
  readonly agreeing: number;
  /** agreeing / inputs. */
  readonly fraction: number;
  /** Distinct argmax classes of the original over the inputs: 1 means the inputs did not tell classes apart. */
  readonly classes: number;
  /** Largest |a - b| over every output value of every input. */
  readonly maxOutputDiff: number;
  /** Graph models: the largest |a - b| of each output, in the order asked. */
  readonly perOutputDiff?: readonly number[];
}

export interface AgreementOptions {
  /** Number of seeded inputs (default 16). */
  readonly count?: number;
  readonly seed?: number;
  /**
   * Graph models: let placeholders take any batch and spatial size, so a fully convolutional model can run on
   * images smaller than its declared input (much faster on the cpu backend). Default false.
   */
  readonly relaxInputShape?: boolean;
  /**
   * Graph models: the pixel range the model expects (default [0, 1]). Measure `classes` before trusting a
   * range: faceres-deep wants [0, 255] and answers the same class to every image in [0, 1].
   */
  readonly inputRange?: readonly [number, number];
}

function lcgValues(n: number, seed: number, lo: number, hi: number): Float32Array {
  const values = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return values;
}

/** Side of the coarse grid smooth images are upsampled from. */
const SMOOTH_GRID = 4;

/**
 * `count` seeded images of `shape` ([height, width, channels]) with values in [lo, hi]: a random 4x4 grid
 * per image, bilinearly upsampled, plus 10% pixel noise. Pixel-wise i.i.d. noise would not do: a deep network
 * with global pooling sees every noise image alike and gives all of them the same class, which proves nothing.
 */
export function seededImages(shape: readonly number[], count: number, seed: number, lo = 0, hi = 1): tf.Tensor4D {
  if (shape.length !== 3) throw invalidArgument(`image shape ${JSON.stringify(shape)} is not [height, width, channels]`);
  const [h, w, c] = shape as [number, number, number];
  return tf.tidy(() => {
    const coarse = tf.tensor4d(lcgValues(count * SMOOTH_GRID * SMOOTH_GRID * c, seed, lo, hi), [count, SMOOTH_GRID, SMOOTH_GRID, c]);
    const smooth = tf.image.resizeBilinear(coarse, [h, w]);
    const noise = tf.tensor4d(lcgValues(count * h * w * c, seed ^ 0x5eed, -0.1 * (hi - lo), 0.1 * (hi - lo)), [count, h, w, c]);
    return tf.clipByValue(tf.add(smooth, noise), lo, hi) as tf.Tensor4D;
  });
}

function argmaxRow(v: Float32Array, row: number, width: number): number {
  let best = 0;
  for (let c = 1; c < width; c++) if (v[row * width + c]! > v[row * width + best]!) best = c;
  return best;
}

/**
 * Compares outputs of shape [inputs, width] (row-major): argmax per row, and max |a - b|. A width-1 output
 * (a sigmoid) counts as two classes split at 0.5.
 */
export function compareOutputs(a: Float32Array, b: Float32Array, inputs: number): Agreement {
  if (a.length !== b.length || inputs < 1 || a.length % inputs !== 0) {
    throw invalidArgument(`outputs of ${a.length} and ${b.length} values do not split into ${inputs} rows`);
  }
  const width = a.length / inputs;
  let agreeing = 0;
  let maxOutputDiff = 0;
  const classes = new Set<number>();
  for (let i = 0; i < a.length; i++) maxOutputDiff = Math.max(maxOutputDiff, Math.abs(a[i]! - b[i]!));
  for (let r = 0; r < inputs; r++) {
    const [ca, cb] = width === 1 ? [Number(a[r]! > 0.5), Number(b[r]! > 0.5)] : [argmaxRow(a, r, width), argmaxRow(b, r, width)];
    classes.add(ca);
    const same = ca === cb;
    if (same) agreeing++;
  }
  return { inputs, agreeing, fraction: agreeing / inputs, classes: classes.size, maxOutputDiff };
}

interface WeightsGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
}

/** Shard bytes of every manifest group, in order, with their specs: what tf.io.fromMemory and decodeWeights take. */
function weightsOf(dir: string, groups: WeightsGroup[]): { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const specs = groups.flatMap((g) => g.weights);
  const data = Buffer.concat(groups.flatMap((g) => g.paths.map((p) => readFileSync(join(dir, p)))));
  return { specs, data: data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer };
}

interface GraphNode {
  op?: string;
  attr?: { shape?: { shape?: { dim?: Array<{ size?: string }> } } };
}

/** Sets every dimension of every placeholder to -1 (unknown), in place. */
function relaxPlaceholders(topology: unknown): void {
  const nodes = (topology as { node?: GraphNode[] } | undefined)?.node ?? [];
  for (const n of nodes) {
    const dims = n.op === 'Placeholder' ? n.attr?.shape?.shape?.dim : undefined;
    for (const d of dims ?? []) d.size = '-1';
  }
}

async function graphOutputs(jsonPath: string, input: tf.Tensor, outputs: readonly string[], relax: boolean): Promise<Float32Array[]> {
  const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as { weightsManifest: WeightsGroup[]; [k: string]: unknown };
  const { weightsManifest, ...rest } = json;
  if (relax) relaxPlaceholders(rest.modelTopology);
  const { specs, data } = weightsOf(dirname(jsonPath), weightsManifest);
  const model = await tf.loadGraphModel(tf.io.fromMemory({ ...rest, weightSpecs: specs, weightData: data } as tf.io.ModelArtifacts));
  try {
    const out = model.execute(input, outputs.length === 1 ? outputs[0] : [...outputs]);
    const list = Array.isArray(out) ? out : [out];
    const values = list.map((t) => Float32Array.from(t.dataSync() as Float32Array));
    tf.dispose(list);
    return values;
  } finally {
    model.dispose();
  }
}

/**
 * Agreement of two TF.js graph models (model.json paths; shards beside them) on `count` seeded images of
 * `inputShape` (no batch dimension), run as one batch. Agreement is on `outputs[0]`; maxOutputDiff covers
 * every output in `outputs` (node names as in the model's signature, e.g. 'age_pred/Softmax:0').
 */
export async function graphModelAgreement(
  originalJson: string, otherJson: string, inputShape: readonly number[], outputs: readonly string[], o: AgreementOptions = {},
): Promise<Agreement> {
  if (outputs.length === 0) throw invalidArgument('name at least one output to compare');
  await tf.setBackend('cpu');
  const count = o.count ?? 16;
  const [lo, hi] = o.inputRange ?? [0, 1];
  const input = seededImages(inputShape, count, o.seed ?? 7, lo, hi);
  try {
    const relax = o.relaxInputShape ?? false;
    const a = await graphOutputs(originalJson, input, outputs, relax);
    const b = await graphOutputs(otherJson, input, outputs, relax);
    const first = compareOutputs(a[0]!, b[0]!, count);
    const diffs = a.map((v, i) => compareOutputs(v, b[i]!, count).maxOutputDiff);
    return { ...first, maxOutputDiff: Math.max(...diffs), perOutputDiff: diffs };
  } finally {
    input.dispose();
  }
}

/** face-api's normalization of FaceFeatureExtractor inputs (RGB means of its training set). */
const FACE_MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** Input side of face-api's FaceExpressionNet. */
export const FACE_EXPRESSION_SIDE = 112;

type Weights = tf.NamedTensorMap;

function weight(w: Weights, name: string): tf.Tensor {
  const t = w[name];
  if (!t) throw invalidArgument(`face_expression weights have no tensor named ${name}`);
  return t;
}

function separable(x: tf.Tensor4D, w: Weights, p: string, stride: 1 | 2): tf.Tensor4D {
  const conv = tf.separableConv2d(x, weight(w, `${p}/depthwise_filter`) as tf.Tensor4D, weight(w, `${p}/pointwise_filter`) as tf.Tensor4D, stride, 'same');
  return tf.add(conv, weight(w, `${p}/bias`));
}

/** One dense block: four convs, each fed the relu of the sum of all earlier outputs of the block. */
function denseBlock(x: tf.Tensor4D, w: Weights, p: string, first: boolean): tf.Tensor4D {
  const out1: tf.Tensor4D = first
    ? tf.add(tf.conv2d(x, weight(w, `${p}/conv0/filters`) as tf.Tensor4D, 2, 'same'), weight(w, `${p}/conv0/bias`))
    : separable(x, w, `${p}/conv0`, 2);
  const out2 = separable(tf.relu(out1), w, `${p}/conv1`, 1);
  const out3 = separable(tf.relu(tf.add(out1, out2)) as tf.Tensor4D, w, `${p}/conv2`, 1);
  const out4 = separable(tf.relu(tf.add(tf.add(out1, out2), out3)) as tf.Tensor4D, w, `${p}/conv3`, 1);
  return tf.relu(tf.add(tf.add(tf.add(out1, out2), out3), out4)) as tf.Tensor4D;
}

/** The 7 expression logits of each image of `images` ([n, 112, 112, 3], pixel values 0..255). */
function faceExpressionLogits(w: Weights, images: tf.Tensor4D): Float32Array {
  return tf.tidy(() => {
    let x = tf.div(tf.sub(images, tf.tensor1d([...FACE_MEAN_RGB])), 255) as tf.Tensor4D;
    for (const [i, p] of ['dense0', 'dense1', 'dense2', 'dense3'].entries()) x = denseBlock(x, w, p, i === 0);
    const pooled = tf.avgPool(x, [7, 7], [2, 2], 'valid');
    const flat = tf.reshape(pooled, [images.shape[0], -1]) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(flat, weight(w, 'fc/weights') as tf.Tensor2D), weight(w, 'fc/bias'));
    return Float32Array.from(logits.dataSync() as Float32Array);
  });
}

function faceExpressionWeights(manifestPath: string): Weights {
  const groups = JSON.parse(readFileSync(manifestPath, 'utf8')) as WeightsGroup[];
  if (!Array.isArray(groups)) throw invalidArgument(`${manifestPath} is not a TF.js weights manifest`);
  const { specs, data } = weightsOf(dirname(manifestPath), groups);
  return tf.io.decodeWeights(data, specs);
}

/**
 * Agreement of two face-api face_expression models (weights manifest paths; shards beside them) on `count`
 * seeded 112x112 RGB images: argmax of the 7 expression logits, and max |logit difference|.
 */
export async function faceExpressionAgreement(originalManifest: string, otherManifest: string, o: AgreementOptions = {}): Promise<Agreement> {
  await tf.setBackend('cpu');
  const count = o.count ?? 16;
  const images = seededImages([FACE_EXPRESSION_SIDE, FACE_EXPRESSION_SIDE, 3], count, o.seed ?? 7, 0, 255);
  const [wa, wb] = [faceExpressionWeights(originalManifest), faceExpressionWeights(otherManifest)];
  try {
    return compareOutputs(faceExpressionLogits(wa, images), faceExpressionLogits(wb, images), count);
  } finally {
    tf.dispose([images, ...Object.values(wa), ...Object.values(wb)]);
  }
}
