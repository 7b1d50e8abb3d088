/**
 * Test and bench support: the MNIST family and digits in the forms a data analyst has them. Each family member
 * (safetensors `l1.weight` [128, 784], `l2.weight` [10, 128], leaky ReLU 0.01 between) as an ONNX graph
 * (dense-mlp-writer) and as a TF.js layers model (built and saved by TF.js itself); the digits as a CSV file
 * (`id,label,pixels` with pixels a `[...]` list), a SQLite table (pixels as JSON text and as a float32 BLOB)
 * and the rows of a PostgreSQL table (pixels `real[]`). Callers pass paths: this module stays free of scripts/.
 */
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { denseMlpOnnx } from '../../formats/onnx/dense-mlp-writer.js';
import { MNIST_CLASSES, MNIST_PIXELS, type MnistDigits } from '../../store/testing/mnist-digits.js';
import { readMnistSafetensors, TINYGRAD_LEAKY_SLOPE } from '../../store/testing/mnist-eval.js';

const HIDDEN = 128;

/** The ONNX form of one MNIST family member: input `pixels` [N, 784], output `logits` [N, 10]. */
export function mnistOnnx(safetensorsPath: string, name = 'mnist'): Uint8Array {
  const w = readMnistSafetensors(safetensorsPath);
  const hidden = w.l1.length / MNIST_PIXELS;
  return denseMlpOnnx({
    name, inputName: 'pixels', outputName: 'logits', activation: { kind: 'leaky_relu', alpha: TINYGRAD_LEAKY_SLOPE },
    layers: [
      { name: 'l1.weight', weight: w.l1, shape: [hidden, MNIST_PIXELS] },
      { name: 'l2.weight', weight: w.l2, shape: [MNIST_CLASSES, hidden] },
    ],
  });
}

/** Writes the TF.js layers form of one family member into `dir` (model.json + weights); returns model.json's path. */
export async function writeMnistTfjs(safetensorsPath: string, dir: string): Promise<string> {
  const tf = await import('@tensorflow/tfjs');
  await tf.ready();
  const backend = tf.backend() as { firstUse?: unknown };
  if (typeof backend.firstUse === 'boolean') backend.firstUse = false; // no 'install tfjs-node' banner
  const w = readMnistSafetensors(safetensorsPath);
  const hidden = w.l1.length / MNIST_PIXELS;
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [MNIST_PIXELS], units: hidden, useBias: false, name: 'l1' }),
      tf.layers.leakyReLU({ alpha: TINYGRAD_LEAKY_SLOPE }),
      tf.layers.dense({ units: MNIST_CLASSES, useBias: false, name: 'l2' }),
    ],
  });
  // Keras kernels are [in, out]: the transposes of the [out, in] safetensors weights.
  const k1 = tf.tensor2d(w.l1, [hidden, MNIST_PIXELS]).transpose();
  const k2 = tf.tensor2d(w.l2, [MNIST_CLASSES, hidden]).transpose();
  model.setWeights([k1, k2]);
  tf.dispose([k1, k2]);
  mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
    const json = { format: 'layers-model', generatedBy: 'neurstore tests', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
  }));
  model.dispose();
  return join(dir, 'model.json');
}

/** One digit's pixels as a list literal `[0,0.5,...]` (shortest round-trip of each float32). */
export function pixelList(digits: MnistDigits, i: number): string {
  return `[${Array.from(digits.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS)).join(',')}]`;
}

/** Writes `digits` as CSV `id,label,pixels` (pixels a quoted list; DuckDB: `pixels::FLOAT[]`). */
export function writeDigitsCsv(digits: MnistDigits, path: string): void {
  const lines = ['id,label,pixels'];
  for (let i = 0; i < digits.count; i++) lines.push(`${i},${digits.labels[i]},"${pixelList(digits, i)}"`);
  writeFileSync(path, lines.join('\n') + '\n');
}

/** Writes `digits` into table `digits(id, label, pixels TEXT JSON, pixels_f32 BLOB)` of a new SQLite file. */
export function writeDigitsSqlite(digits: MnistDigits, path: string): void {
  const db = new Database(path);
  try {
    db.exec('CREATE TABLE digits (id INTEGER PRIMARY KEY, label INTEGER NOT NULL, pixels TEXT NOT NULL, pixels_f32 BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO digits VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < digits.count; i++) {
        const px = digits.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
        insert.run(i, digits.labels[i], pixelList(digits, i), Buffer.from(px.buffer, px.byteOffset, px.byteLength));
      }
    })();
  } finally {
    db.close();
  }
}
