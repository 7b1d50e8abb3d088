// predict / predict_scores and the store tables in DuckDB and SQLite, on the real MNIST family stored as ONNX and
// TF.js, checked against ONNX Runtime run directly on the same rows (the oracle), and every kind of bad input:
// a clear error with a code, and the store's files untouched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fixturePath } from '../../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../../scripts/mnist-family.js';
import { encodeOnnxModel } from '../formats/onnx/onnx-proto.js';
import { NeurStore } from '../store/neur-store.js';
import { loadMnistSplit, pickDigits, MNIST_PIXELS, type MnistDigits } from '../store/testing/mnist-digits.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { argmax } from './model-runner.js';
import { SqlSession } from './sql-service.js';
import { mnistOnnx, writeDigitsCsv, writeDigitsSqlite, writeMnistTfjs } from './testing/mnist-tables.js';

const ROWS = 300;
const dir = tempDir('neurstore-sql-');
const storeDir = join(dir, 'store');
const csv = join(dir, 'digits.csv');
const sqlite = join(dir, 'digits.sqlite');
let digits: MnistDigits;
/** ORT run directly on the original ONNX bytes of each model: logits of every digit. */
const oracle = new Map<string, Float32Array>();
let duck: SqlSession;
let lite: SqlSession;

async function ortLogits(bytes: Uint8Array, x: MnistDigits): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  const y = await s.run({ pixels: new ort.Tensor('float32', x.images, [x.count, MNIST_PIXELS]) });
  await s.release();
  return y['logits']!.data as Float32Array;
}

function classes(logits: Float32Array): number[] {
  return Array.from({ length: logits.length / 10 }, (_, i) => argmax(logits, i * 10, 10));
}

/** Every file of the store with its content hash: equal before and after means untouched. */
function storeFingerprint(): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(`${p}\0`).update(readFileSync(p));
    }
  };
  walk(storeDir);
  return h.digest('hex');
}

before(async () => {
  const family = await ensureMnistFamily();
  const { test: held } = loadMnistSplit((f) => fixturePath('mnist', f));
  digits = pickDigits(held, Uint32Array.from({ length: ROWS }, (_, i) => i));
  const store = await NeurStore.init(storeDir);
  try {
    for (const [i, path] of family.slice(0, 3).entries()) {
      const bytes = mnistOnnx(path, `m${i}`);
      writeFileSync(join(dir, `m${i}.onnx`), bytes);
      await store.put(join(dir, `m${i}.onnx`), { name: `m${i}`, mode: i === 0 ? 'lossless' : 'default', tolerance: i === 0 ? undefined : 1e-3, tags: { family: 'mnist' } });
      // The oracle runs the model as stored (m1, m2 are lossy): the file `get` writes back.
      const [back] = await store.get(`m${i}`, join(dir, `m${i}-back.onnx`));
      oracle.set(`m${i}`, await ortLogits(readFileSync(back!), digits));
    }
    await store.put(await writeMnistTfjs(family[0]!, join(dir, 'tfjs')), { name: 'm0-tfjs' });
    const two = encodeOnnxModel({
      ir_version: 8, opset_import: [{ domain: '', version: 17 }],
      graph: {
        name: 'add', node: [{ op_type: 'Add', input: ['a', 'b'], output: ['y'] }],
        input: ['a', 'b'].map((n) => ({ name: n, type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }] } } } })),
        output: [{ name: 'y', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 3 }] } } } }],
      },
    });
    writeFileSync(join(dir, 'two.onnx'), two);
    await store.put(join(dir, 'two.onnx'), { name: 'two-inputs' });
  } finally {
    await store.close();
  }
  writeDigitsCsv(digits, csv);
  writeDigitsSqlite(digits, sqlite);
  duck = await SqlSession.open({ storeDir });
  lite = await SqlSession.open({ storeDir, db: sqlite });
});

after(async () => {
  await duck?.close();
  await lite?.close();
});

const num = (v: unknown): number => Number(v);

test('DuckDB: predict gives the classes of ONNX Runtime run directly (100%), predict_scores its logits', async () => {
  const { rows } = await duck.all(`SELECT id, predict('m1', pixels::FLOAT[]) AS c, predict_scores('m1', pixels::FLOAT[]) AS s FROM '${csv}' ORDER BY id`);
  const want = oracle.get('m1')!;
  assert.equal(rows.length, ROWS);
  assert.deepEqual(rows.map((r) => num(r[1])), classes(want));
  let worst = 0;
  rows.forEach((r, i) => (r[2] as number[]).forEach((v, k) => (worst = Math.max(worst, Math.abs(v - want[i * 10 + k]!)))));
  assert.ok(worst <= 1e-6 * 8, `logits differ from ONNX Runtime's by up to ${worst}`);
});

test('accuracy of every model of the family in one query equals the runtime\'s', async () => {
  const q = `SELECT m.name, avg((predict(m.name, d.pixels::FLOAT[]) = d.label)::INT) AS accuracy
             FROM models m, '${csv}' d WHERE m.format = 'onnx' AND m.name LIKE 'm%' GROUP BY m.name ORDER BY m.name`;
  const { rows } = await duck.all(q);
  assert.deepEqual(rows.map((r) => r[0]), ['m0', 'm1', 'm2']);
  for (const [name, acc] of rows) {
    const c = classes(oracle.get(name as string)!);
    const want = c.filter((k, i) => k === digits.labels[i]).length / ROWS;
    assert.equal(num(acc), want, `${name}`);
  }
});

test('SQLite: JSON-text and float32-BLOB features give the runtime\'s classes; accuracy equal', async () => {
  const { rows } = await lite.all("SELECT id, predict('m2', pixels), predict('m2', pixels_f32), predict_scores('m2', pixels_f32) FROM digits ORDER BY id");
  const want = classes(oracle.get('m2')!);
  assert.deepEqual(rows.map((r) => r[1]), want);
  assert.deepEqual(rows.map((r) => r[2]), want);
  assert.equal(JSON.parse(rows[0]![3] as string).length, 10);
  const [[acc]] = (await lite.all("SELECT avg(predict('m2', pixels) = label) FROM digits")).rows as [[number]];
  assert.equal(acc, want.filter((k, i) => k === digits.labels[i]).length / ROWS);
});

test('TF.js model and int8+delta load mode run through the same functions', async () => {
  const { rows } = await duck.all(`SELECT predict('m0-tfjs', pixels::FLOAT[]), predict('m0', pixels::FLOAT[], 'int8+delta') FROM '${csv}' ORDER BY id`);
  const want = classes(oracle.get('m0')!);
  assert.deepEqual(rows.map((r) => num(r[0])), want, 'TF.js and ONNX Runtime agree on every row');
  // int8+delta against the store's own int8+delta session run directly on the same rows.
  const store = await NeurStore.open(storeDir, { readOnly: true });
  try {
    const s = await store.onnxSession('m0', { mode: 'int8+delta' });
    const y = await s.run({ pixels: new ort.Tensor('float32', digits.images, [ROWS, MNIST_PIXELS]) });
    await s.release();
    assert.deepEqual(rows.map((r) => num(r[1])), classes(y['logits']!.data as Float32Array));
  } finally {
    await store.close();
  }
});

test('the store as tables: models and tensors', async () => {
  const store = await NeurStore.open(storeDir, { readOnly: true });
  const list = await store.list();
  await store.close();
  for (const s of [duck, lite]) {
    const { columns, rows } = await s.all('SELECT name, format, mode, tensors, bytes_in, bytes_stored, ratio FROM models ORDER BY ratio DESC');
    assert.deepEqual(columns, ['name', 'format', 'mode', 'tensors', 'bytes_in', 'bytes_stored', 'ratio']);
    assert.equal(rows.length, list.length);
    for (const r of rows) {
      const m = list.find((x) => x.name === r[0])!;
      assert.equal(r[1], m.format);
      assert.equal(num(r[4]), m.bytesIn);
      assert.equal(num(r[6]), m.bytesIn / m.storedBytes);
    }
    const t = await s.all("SELECT name, dtype, stored_as, base FROM tensors WHERE model = 'm1' ORDER BY idx");
    assert.deepEqual(t.rows.map((r) => [r[0], r[1]]), [['l1.weight', 'F32'], ['l2.weight', 'F32']]);
  }
  const tags = await duck.all("SELECT tags['family'] FROM models WHERE name = 'm1'");
  assert.equal(tags.rows[0]![0], 'mnist');
});

/** [query, code, part of the message] per bad input. */
const DUCK_BAD: Array<[string, string, RegExp]> = [
  ["SELECT predict('nope', [1, 2])", 'NOT_FOUND', /no model named 'nope'/],
  ["SELECT predict('m0', [1, 2, 3])", 'INVALID_ARGUMENT', /predict\(\): row 1: model 'm0' takes 784 features .*got 3/],
  ["SELECT predict('m0', NULL::FLOAT[])", 'INVALID_ARGUMENT', /features are NULL/],
  ["SELECT predict('m0', [1, NULL, 3])", 'INVALID_ARGUMENT', /feature 2 is NULL/],
  ["SELECT predict(NULL, [1])", 'INVALID_ARGUMENT', /model name is NULL/],
  ["SELECT predict('m0', ['a', 'b'])", 'INVALID_ARGUMENT', /No function matches.*predict\(STRING_LITERAL, VARCHAR\[\]\)/],
  ["SELECT predict('m0', '[1, x]')", 'INVALID_ARGUMENT', /Conversion Error/],
  ["SELECT predict('m0', ['nan'::FLOAT])", 'INVALID_ARGUMENT', /feature 1 is NaN/],
  ["SELECT predict('m0', [1], 'int4')", 'INVALID_ARGUMENT', /unknown load mode 'int4'/],
  ["SELECT predict('m0', [1], 'fp32', 'x')", 'INVALID_ARGUMENT', /takes \(model, features \[, load_mode\]\), got 4/],
  ["SELECT predict('m0-tfjs', [1], 'int8')", 'NOT_SUPPORTED', /TF.js model, which runs in fp32 only/],
  ["SELECT predict('two-inputs', [1, 2, 3])", 'NOT_SUPPORTED', /does not take one float tensor.*a float32 \[N, 3\]; b float32 \[N, 3\]/],
  ["SELECT * FROM no_such_table", 'INVALID_ARGUMENT', /no_such_table/],
];

const LITE_BAD: Array<[string, string, RegExp]> = [
  ["SELECT predict('nope', '[1, 2]')", 'NOT_FOUND', /no model named 'nope'/],
  ["SELECT predict('m0', '[1, 2, 3]')", 'INVALID_ARGUMENT', /^predict\(\): model 'm0' takes 784 features .*got 3/],
  ["SELECT predict('m0', NULL)", 'INVALID_ARGUMENT', /features are NULL/],
  ["SELECT predict('m0', '[1, null]')", 'INVALID_ARGUMENT', /feature 2 is NULL/],
  ["SELECT predict('m0', '[1, \"a\"]')", 'INVALID_ARGUMENT', /feature 2 is not a number: "a"/],
  ["SELECT predict('m0', 'pixels')", 'INVALID_ARGUMENT', /not a JSON array of numbers/],
  ["SELECT predict('m0', 5)", 'INVALID_ARGUMENT', /JSON array of numbers or a float32 BLOB, got number 5/],
  ["SELECT predict('m0', x'000000')", 'INVALID_ARGUMENT', /multiple of 4 bytes/],
  ["SELECT predict('m0')", 'INVALID_ARGUMENT', /got 1 arguments/],
  ["SELECT predict_scores('m0', '[1]', 'fp64')", 'INVALID_ARGUMENT', /unknown load mode 'fp64'/],
];

test('bad input: a clear error with a code per case, and the store untouched', async () => {
  const before = storeFingerprint();
  for (const [s, cases] of [[duck, DUCK_BAD], [lite, LITE_BAD]] as const) {
    for (const [q, code, message] of cases) {
      await assert.rejects(s.all(q), (e: Error & { code?: string }) => {
        assert.equal(e.code, code, `${q}: ${e.message}`);
        assert.match(e.message, message, q);
        return true;
      });
    }
  }
  // The session still works after the errors.
  const { rows } = await duck.all(`SELECT count(*) FROM '${csv}' WHERE predict('m0', pixels::FLOAT[]) >= 0`);
  assert.equal(num(rows[0]![0]), ROWS);
  assert.equal(storeFingerprint(), before);
});
