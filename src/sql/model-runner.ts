/**
 * A stored model ready to score rows: `run(x, rows)` takes `rows` feature vectors back to back (float32) and
 * returns their raw outputs back to back. It wraps the store's runtimes (an ONNX Runtime session in any load
 * mode the store builds, a TF.js model in fp32) behind one shape contract: the model's single input is a
 * float tensor `[N, F]`, or `[N, d1, d2...]` filled from F = d1·d2·... features (an image from its pixels).
 * Models that do not fit that contract are refused when opened, naming the inputs they have.
 */
import type * as ortTypes from 'onnxruntime-node';
import { invalidArgument, notSupported } from '../errors.js';
import type { NeurStore } from '../store/neur-store.js';
import { checkLoadMode, type LoadMode } from '../runtime/load-forms.js';
import { ortSession, type OnnxSession } from '../runtime/onnx-session.js';
import type { TfjsModel } from '../runtime/tfjs-model.js';

/** A loaded model that scores batches of feature vectors. */
export interface ModelRunner {
  readonly model: string;
  readonly mode: LoadMode;
  /** Features per row F, or null when the input's trailing dimensions are symbolic (then any F, fixed per batch). */
  readonly features: number | null;
  /** The input's per-row shape (F, or d1, d2...), for error messages. */
  readonly rowShape: readonly (number | string)[];
  /** Scores `rows` vectors of `x` (length rows·F); returns rows·K outputs, K = outputs per row. */
  run(x: Float32Array, rows: number): Promise<{ scores: Float32Array; perRow: number }>;
  close(): Promise<void>;
}

type Dim = number | string;

/** F from a per-row shape: the product of its dimensions, or null when one is symbolic. */
function featureCount(rowShape: readonly Dim[]): number | null {
  if (rowShape.some((d) => typeof d !== 'number' || d < 0)) return null;
  return (rowShape as number[]).reduce((a, b) => a * b, 1);
}

function describeInputs(inputs: ReadonlyArray<{ name: string; type?: string; shape?: readonly Dim[] }>): string {
  return inputs.map((i) => `${i.name}${i.type ? ` ${i.type}` : ''}${i.shape ? ` [${i.shape.join(', ')}]` : ''}`).join('; ');
}

/** Checks a batch before it reaches a runtime, so every runtime fails the same clear way. */
export function checkBatch(r: Pick<ModelRunner, 'model' | 'features' | 'rowShape'>, x: Float32Array, rows: number): number {
  if (!(rows > 0) || x.length % rows !== 0) throw invalidArgument(`model '${r.model}': ${x.length} values do not split into ${rows} rows`);
  const f = x.length / rows;
  if (r.features !== null && f !== r.features) {
    throw invalidArgument(`model '${r.model}' takes ${r.features} features per row (input [N, ${r.rowShape.join(', ')}]), got ${f}`);
  }
  return f;
}

/** Wraps an ONNX Runtime session whose single input is float `[N, ...]`. */
export function onnxRunner(session: OnnxSession, model: string, mode: LoadMode): ModelRunner {
  const meta = session.inputMetadata as readonly ortTypes.InferenceSession.ValueMetadata[];
  const inputs = meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: m.shape as Dim[] } : { name: m.name, type: 'non-tensor' }));
  const only = meta.length === 1 ? meta[0] : undefined;
  if (!only || !only.isTensor || only.type !== 'float32' || only.shape.length < 2) {
    void session.release();
    throw notSupported(`model '${model}' does not take one float tensor [N, features]: its inputs are ${describeInputs(inputs)}`);
  }
  const rowShape = (only.shape as Dim[]).slice(1);
  const features = featureCount(rowShape);
  const output = session.outputNames[0]!;
  let ort: typeof ortTypes | undefined;
  const runner: ModelRunner = {
    model, mode, features, rowShape,
    async run(x, rows) {
      const f = checkBatch(runner, x, rows);
      ort ??= await import('onnxruntime-node');
      const dims = features === null ? [rows, f] : [rows, ...(rowShape as number[])];
      const result = await session.run({ [only.name]: new ort.Tensor('float32', x, dims) });
      const y = result[output] as ortTypes.Tensor;
      const scores = y.data instanceof Float32Array ? y.data : Float32Array.from(y.data as ArrayLike<number>);
      return { scores, perRow: scores.length / rows };
    },
    close: () => session.release(),
  };
  return runner;
}

/** Wraps a TF.js model (graph or layers) whose single input is float `[N, ...]`. */
export function tfjsRunner(m: TfjsModel, model: string): ModelRunner {
  const inputs = m.inputs.map((i) => ({ name: i.name, type: i.dtype, shape: (i.shape ?? []).map((d) => d ?? '?') }));
  const only = inputs.length === 1 ? inputs[0]! : undefined;
  if (!only || (only.type !== undefined && only.type !== 'float32') || only.shape.length < 2) {
    m.dispose();
    throw notSupported(`model '${model}' does not take one float tensor [N, features]: its inputs are ${describeInputs(inputs)}`);
  }
  const rowShape = only.shape.slice(1);
  const features = featureCount(rowShape);
  const runner: ModelRunner = {
    model, mode: 'fp32', features, rowShape,
    async run(x, rows) {
      const f = checkBatch(runner, x, rows);
      const tf = await import('@tensorflow/tfjs');
      const input = tf.tensor(x, features === null ? [rows, f] : [rows, ...(rowShape as number[])], 'float32');
      try {
        const y = 'executeAsync' in m ? await m.executeAsync(input) : m.predict(input);
        const out = Array.isArray(y) ? y[0]! : (y as import('@tensorflow/tfjs').Tensor);
        const scores = (await out.data()) as Float32Array;
        tf.dispose(y as import('@tensorflow/tfjs').Tensor);
        return { scores: scores instanceof Float32Array ? scores : Float32Array.from(scores), perRow: scores.length / rows };
      } finally {
        input.dispose();
      }
    },
    close: async () => { m.dispose(); },
  };
  return runner;
}

/**
 * Opens model `name` of `store` in load mode `mode` (default fp32). ONNX models run in ONNX Runtime in every
 * mode the store builds sessions for; TF.js models in fp32/exact only (NOT_SUPPORTED otherwise). Errors: the
 * store's (NOT_FOUND for an unknown model), NOT_SUPPORTED for other formats and for inputs that do not fit.
 */
export async function openRunner(store: NeurStore, name: string, mode: LoadMode = 'fp32'): Promise<ModelRunner> {
  checkLoadMode(mode);
  const info = await store.info(name);
  if (info.format === 'onnx') return onnxRunner(await store.onnxSession(name, { mode }), name, mode);
  if (info.format === 'tfjs') {
    if (mode !== 'fp32' && mode !== 'exact') throw notSupported(`model '${name}' is a TF.js model, which runs in fp32 only (load mode '${mode}' needs an ONNX model)`);
    return tfjsRunner(await store.tfjsModel(name), name);
  }
  throw notSupported(`model '${name}' is ${info.format}: only ONNX and TF.js models run in SQL (store the model as ONNX)`);
}

/** A runner over an ONNX file that is not in a store (the uncompressed model a sweep compares against). */
export async function onnxFileRunner(bytes: Uint8Array, label: string): Promise<ModelRunner> {
  return onnxRunner(await ortSession(bytes), label, 'fp32');
}

/** Index of the largest of `scores[at .. at+n)`; the first on ties (as numpy and ONNX ArgMax do). NaN never wins. */
export function argmax(scores: Float32Array, at: number, n: number): number {
  let best = 0;
  let bestValue = Number.isNaN(scores[at]!) ? -Infinity : scores[at]!;
  for (let k = 1; k < n; k++) {
    const v = scores[at + k]!;
    if (v > bestValue) {
      best = k;
      bestValue = v;
    }
  }
  return best;
}
