// `sweep FILE --query` (the paper's dry run over SQL rows) and the `sql` command's output forms: the metric per
// tolerance equals the one measured independently (the model stored at that tolerance in a fresh store, written
// back, run in ONNX Runtime directly on the same rows).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fixturePath } from '../../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../../scripts/mnist-family.js';
import { runCli } from '../cli/testing/run-cli.js';
import { EXIT_CODES } from '../cli/exit-codes.js';
import { NeurStore } from '../store/neur-store.js';
import { loadMnistSplit, pickDigits, MNIST_PIXELS, type MnistDigits } from '../store/testing/mnist-digits.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { argmax } from './model-runner.js';
import { mnistOnnx, writeDigitsCsv, writeDigitsSqlite } from './testing/mnist-tables.js';

const ROWS = 200;
const dir = tempDir('neurstore-sql-sweep-');
const model = join(dir, 'm.onnx');
const csv = join(dir, 'digits.csv');
const sqlite = join(dir, 'digits.sqlite');
let digits: MnistDigits;

before(async () => {
  const family = await ensureMnistFamily();
  const { test: held } = loadMnistSplit((f) => fixturePath('mnist', f));
  digits = pickDigits(held, Uint32Array.from({ length: ROWS }, (_, i) => i));
  writeFileSync(model, mnistOnnx(family[1]!, 'm'));
  writeDigitsCsv(digits, csv);
  writeDigitsSqlite(digits, sqlite);
});

async function classesOf(bytes: Uint8Array): Promise<number[]> {
  const s = await ort.InferenceSession.create(bytes);
  const y = (await s.run({ pixels: new ort.Tensor('float32', digits.images, [ROWS, MNIST_PIXELS]) }))['logits']!.data as Float32Array;
  await s.release();
  return Array.from({ length: ROWS }, (_, i) => argmax(y, i * 10, 10));
}

/** Accuracy and agreement of the model stored at `tol` in a fresh store, measured directly. */
async function direct(tol: number): Promise<{ accuracy: number; agreement: number }> {
  const store = await NeurStore.init(join(tempDir(), 's'));
  try {
    await store.put(model, { name: 'm', mode: 'default', tolerance: tol });
    const [back] = await store.get('m', join(tempDir(), 'm.onnx'));
    const got = await classesOf(readFileSync(back!));
    const orig = await classesOf(readFileSync(model));
    return {
      accuracy: got.filter((c, i) => c === digits.labels[i]).length / ROWS,
      agreement: got.filter((c, i) => c === orig[i]).length / ROWS,
    };
  } finally {
    await store.close();
  }
}

test('sweep --query: accuracy (SQLite rows) and agreement (CSV rows in DuckDB) per tolerance equal the direct measurement', async () => {
  const storeDir = join(tempDir(), 'store');
  const tolerances = [1e-3, 3e-2];
  const acc = await runCli('--store', storeDir, 'init');
  assert.equal(acc.code, 0);
  const a = await runCli('--store', storeDir, 'sweep', model, '--tolerances', tolerances.join(','), '--db', sqlite, '--query', 'SELECT pixels, label FROM digits ORDER BY id', '--json');
  assert.equal(a.code, 0, a.stderr);
  const g = await runCli('--store', storeDir, 'sweep', model, '--tolerances', tolerances.join(','), '--query', `SELECT pixels::FLOAT[] FROM '${csv}' ORDER BY id`, '--metric', 'agreement');
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /^TOLERANCE\s+RATIO\s+MAX ERROR\s+AGREEMENT$/m);
  const rowsA = JSON.parse(a.stdout) as Array<{ tolerance: number; metric: number }>;
  for (const [i, tol] of tolerances.entries()) {
    const want = await direct(tol);
    assert.equal(rowsA[i]!.metric, want.accuracy, `accuracy at ${tol}`);
    assert.match(g.stdout, new RegExp(`^${tol.toExponential(0).replace('+', '\\+')}\\s.*\\s${Number(want.agreement.toPrecision(6))}$`, 'm'), `agreement at ${tol}`);
  }
  const store = await NeurStore.open(storeDir, { readOnly: true });
  assert.deepEqual(await store.list(), [], 'the sweep leaves the store as it found it');
  await store.close();
  const bad = await runCli('--store', storeDir, 'sweep', model, '--query', `SELECT pixels::FLOAT[] FROM '${csv}'`, '--metric', 'accuracy');
  assert.equal(bad.code, EXIT_CODES.INVALID_ARGUMENT);
  assert.match(bad.stderr, /--metric accuracy needs a label: select features, label/);
});

test('neurstore sql prints a table, JSON or CSV; errors are one line with the exit code of their code', async () => {
  const storeDir = join(tempDir(), 'store');
  assert.equal((await runCli('--store', storeDir, 'init')).code, 0);
  assert.equal((await runCli('--store', storeDir, 'put', model, '--name', 'm')).code, 0);
  const q = `SELECT id, label, predict('m', pixels::FLOAT[]) AS class FROM '${csv}' ORDER BY id LIMIT 3`;
  const t = await runCli('--store', storeDir, 'sql', q);
  assert.equal(t.code, 0, t.stderr);
  const want = (await classesOf(readFileSync(model))).slice(0, 3);
  assert.deepEqual(t.stdout.trim().split('\n'), [
    'ID  LABEL  CLASS', ...want.map((c, i) => `${String(i).padStart(2)}  ${String(digits.labels[i]).padStart(5)}  ${String(c).padStart(5)}`), '(3 rows)',
  ]);
  const j = await runCli('--store', storeDir, 'sql', q, '--json');
  assert.deepEqual(JSON.parse(j.stdout), want.map((c, i) => ({ id: i, label: digits.labels[i], class: c })));
  const c = await runCli('--store', storeDir, 'sql', "SELECT name, tags, 'a,b' AS s FROM models", '--csv');
  assert.equal(c.stdout, 'name,tags,s\nm,{},"a,b"\n');
  const lite = await runCli('--store', storeDir, 'sql', "SELECT count(*) AS n FROM digits WHERE predict('m', pixels_f32) = label", '--db', sqlite, '--json');
  assert.equal(lite.code, 0, lite.stderr);
  const unknown = await runCli('--store', storeDir, 'sql', "SELECT predict('nope', [1])");
  assert.equal(unknown.code, EXIT_CODES.NOT_FOUND);
  assert.match(unknown.stderr, /^neurstore: NOT_FOUND: .*no model named 'nope'\n$/);
  const pg = await runCli('--store', storeDir, 'sql', 'SELECT 1', '--db', 'postgres://x@127.0.0.1:1/db');
  assert.equal(pg.code, EXIT_CODES.NOT_SUPPORTED);
  assert.match(pg.stderr, /neurstore infer/);
  const missing = await runCli('--store', storeDir, 'sql', 'SELECT 1', '--db', join(dir, 'none.sqlite'));
  assert.equal(missing.code, EXIT_CODES.NOT_FOUND);
});
