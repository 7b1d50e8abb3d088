// `infer` against a throwaway PostgreSQL: the MNIST digits in a table, scored by the stored ONNX model and written
// back with COPY, checked against ONNX Runtime run directly on the same rows; accuracy computed in PostgreSQL;
// features as real[], float32 bytea and numeric columns; a failure midway leaves whole batches and --resume
// finishes the job; bad input gets a clear error with a code. Runs in CI always (skips elsewhere without PostgreSQL).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import * as ort from 'onnxruntime-node';
import { fixturePath } from '../../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../../scripts/mnist-family.js';
import { NeurStore } from '../store/neur-store.js';
import { loadMnistSplit, pickDigits, MNIST_PIXELS, type MnistDigits } from '../store/testing/mnist-digits.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { pgTestSkip, startPgServer, type PgServer } from '../testing/pg-server.js';
import { runCli } from '../cli/testing/run-cli.js';
import { EXIT_CODES } from '../cli/exit-codes.js';
import { argmax } from './model-runner.js';
import { inferPostgres } from './postgres-infer.js';
import { mnistOnnx, pixelList } from './testing/mnist-tables.js';

const skip = pgTestSkip(Boolean(process.env.CI));
const ROWS = 300;
const dir = tempDir('neurstore-pg-infer-');
const storeDir = join(dir, 'store');
let server: PgServer | undefined;
let client: pg.Client;
let store: NeurStore;
let digits: MnistDigits;
let want: number[];

before(async () => {
  if (skip) return;
  const family = await ensureMnistFamily();
  const { test: held } = loadMnistSplit((f) => fixturePath('mnist', f));
  digits = pickDigits(held, Uint32Array.from({ length: ROWS }, (_, i) => i));
  const bytes = mnistOnnx(family[0]!, 'm0');
  writeFileSync(join(dir, 'm0.onnx'), bytes);
  store = await NeurStore.init(storeDir);
  await store.put(join(dir, 'm0.onnx'), { name: 'm0' });
  const s = await ort.InferenceSession.create(readFileSync(join(dir, 'm0.onnx')));
  const y = (await s.run({ pixels: new ort.Tensor('float32', digits.images, [ROWS, MNIST_PIXELS]) }))['logits']!.data as Float32Array;
  await s.release();
  want = Array.from({ length: ROWS }, (_, i) => argmax(y, i * 10, 10));
  server = await startPgServer();
  client = new pg.Client(server.url);
  await client.connect();
  await client.query('CREATE TABLE digits (id integer PRIMARY KEY, label integer, pixels real[], pixels_f32 bytea)');
  for (let i = 0; i < ROWS; i += 100) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let j = i; j < Math.min(ROWS, i + 100); j++) {
      const px = digits.images.subarray(j * MNIST_PIXELS, (j + 1) * MNIST_PIXELS);
      values.push(j, digits.labels[j], `{${pixelList(digits, j).slice(1, -1)}}`, Buffer.from(px.buffer, px.byteOffset, px.byteLength));
      const k = tuples.length * 4;
      tuples.push(`($${k + 1}, $${k + 2}, $${k + 3}, $${k + 4})`);
    }
    await client.query(`INSERT INTO digits VALUES ${tuples.join(', ')}`, values);
  }
});

after(async () => {
  await client?.end();
  await store?.close();
  await server?.stop();
});

const predictions = async (table: string, key = 'id'): Promise<number[]> =>
  (await client.query(`SELECT prediction FROM ${table} ORDER BY ${key}`)).rows.map((r) => r.prediction as number);

test('infer writes the runtime\'s classes for every row; accuracy in PostgreSQL equals the runtime\'s', { skip }, async () => {
  const seen: number[] = [];
  const r = await inferPostgres(store, {
    model: 'm0', db: server!.url, query: 'SELECT id, pixels FROM digits', into: 'preds', key: 'id', batch: 64,
    onProgress: (p) => seen.push(p.rows),
  });
  assert.equal(r.rows, ROWS);
  assert.equal(r.batches, Math.ceil(ROWS / 64));
  assert.deepEqual(seen, [64, 128, 192, 256, 300]);
  assert.deepEqual(await predictions('preds'), want);
  const scores = (await client.query('SELECT scores FROM preds ORDER BY id LIMIT 1')).rows[0].scores as number[];
  assert.equal(scores.length, 10);
  assert.equal(argmax(Float32Array.from(scores), 0, 10), want[0]);
  const acc = Number((await client.query('SELECT avg((p.prediction = d.label)::int) AS a FROM preds p JOIN digits d USING (id)')).rows[0].a);
  assert.equal(acc, want.filter((c, i) => c === digits.labels[i]).length / ROWS);
  const type = (await client.query("SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'preds'::regclass AND attname = 'id'")).rows[0].t;
  assert.equal(type, 'integer', 'the key keeps its type');
});

test('features as a float32 bytea, as numeric columns, and rows numbered when there is no key', { skip }, async () => {
  await inferPostgres(store, { model: 'm0', db: server!.url, query: 'SELECT id, pixels_f32 FROM digits WHERE id < 50', into: 'preds_bytea', key: 'id' });
  assert.deepEqual(await predictions('preds_bytea'), want.slice(0, 50));
  const cols = Array.from({ length: MNIST_PIXELS }, (_, k) => `pixels[${k + 1}] AS p${k}`).join(', ');
  await inferPostgres(store, { model: 'm0', db: server!.url, query: `SELECT id, ${cols} FROM digits WHERE id < 20`, into: 'preds_cols', key: 'id' });
  assert.deepEqual(await predictions('preds_cols'), want.slice(0, 20));
  await inferPostgres(store, { model: 'm0', db: server!.url, query: 'SELECT pixels FROM digits WHERE id < 30 ORDER BY id', into: 'preds_nokey' });
  assert.deepEqual(await predictions('preds_nokey', 'row_number'), want.slice(0, 30));
});

test('a failure midway leaves whole batches and says how to resume; --resume finishes without duplicates', { skip }, async () => {
  await client.query('CREATE TABLE digits2 AS SELECT * FROM digits');
  await client.query('UPDATE digits2 SET pixels = pixels[1:10] WHERE id = 150');
  const o = { model: 'm0', db: server!.url, query: 'SELECT id, pixels FROM digits2 ORDER BY id', into: 'preds2', key: 'id', batch: 64 };
  await assert.rejects(inferPostgres(store, o), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'INVALID_ARGUMENT');
    assert.match(e.message, /row 151 \(id 150\): model 'm0' takes 784 features per row, got 10/);
    assert.match(e.message, /preds2 holds the 128 rows of 2 whole batch\(es\) .*rerun with --resume/);
    return true;
  });
  assert.equal(Number((await client.query('SELECT count(*) AS n FROM preds2')).rows[0].n), 128);
  await assert.rejects(inferPostgres(store, o), (e: Error & { code?: string }) => e.code === 'CONFLICT' && /already holds rows: add --resume/.test(e.message));
  await client.query('UPDATE digits2 SET pixels = d.pixels FROM digits d WHERE d.id = digits2.id AND digits2.id = 150');
  const r = await inferPostgres(store, { ...o, resume: true });
  assert.equal(r.rows, ROWS - 128);
  assert.deepEqual(await predictions('preds2'), want);
});

test('bad input: a clear error with a code, nothing written', { skip }, async () => {
  const db = server!.url;
  const cases: Array<[Parameters<typeof inferPostgres>[1], string, RegExp]> = [
    [{ model: 'nope', db, query: 'SELECT id, pixels FROM digits', into: 'x1', key: 'id' }, 'NOT_FOUND', /no model named 'nope'/],
    [{ model: 'm0', db, query: 'SELECT id, NULL::real[] AS pixels FROM digits', into: 'x2', key: 'id' }, 'INVALID_ARGUMENT', /row 1 \(id 0\): features are NULL/],
    [{ model: 'm0', db, query: "SELECT id, ARRAY[1, NULL]::real[] AS pixels FROM digits", into: 'x3', key: 'id' }, 'INVALID_ARGUMENT', /feature 2 is NULL/],
    [{ model: 'm0', db, query: "SELECT id, 'a'::text AS pixels FROM digits", into: 'x4', key: 'id' }, 'INVALID_ARGUMENT', /not numeric: pixels \(text\)/],
    [{ model: 'm0', db, query: 'SELECT id, pixels FROM no_such', into: 'x5', key: 'id' }, 'INVALID_ARGUMENT', /relation "no_such" does not exist/],
    [{ model: 'm0', db, query: 'SELECT id, pixels FROM digits', into: 'x6', key: 'nokey' }, 'INVALID_ARGUMENT', /--key nokey: the query has no such column/],
    [{ model: 'm0', db, query: 'SELECT pixels FROM digits', into: 'x7', resume: true }, 'INVALID_ARGUMENT', /--resume needs --key/],
    [{ model: 'm0', db, query: "SELECT id, array_fill('NaN'::real, ARRAY[784]) AS pixels FROM digits", into: 'x8', key: 'id' }, 'INVALID_ARGUMENT', /row 1 \(id 0\): feature 1 is NaN/],
  ];
  for (const [o, code, message] of cases) {
    await assert.rejects(inferPostgres(store, o), (e: Error & { code?: string }) => {
      assert.equal(e.code, code, `${o.query}: ${e.message}`);
      assert.match(e.message, message);
      return true;
    });
    const n = await client.query('SELECT count(*) AS n FROM pg_class WHERE relname = $1', [o.into]);
    if (Number(n.rows[0].n)) assert.equal(Number((await client.query(`SELECT count(*) AS n FROM ${o.into}`)).rows[0].n), 0, o.into);
  }
});

test('CLI: neurstore infer, and its errors as exit codes', { skip }, async () => {
  const ok = await runCli('--store', storeDir, 'infer', 'm0', '--db', server!.url, '--query', 'SELECT id, pixels FROM digits WHERE id < 100', '--into', 'cli_preds', '--key', 'id', '--batch', '32');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^wrote 100 rows \(4 batches\) into cli_preds \(id, prediction, scores\) in [\d.]+ s, \d+ rows\/s$/m);
  assert.deepEqual(await predictions('cli_preds'), want.slice(0, 100));
  const bad = await runCli('--store', storeDir, 'infer', 'nope', '--db', server!.url, '--query', 'SELECT id, pixels FROM digits', '--into', 'cli2', '--key', 'id');
  assert.equal(bad.code, EXIT_CODES.NOT_FOUND);
  assert.match(bad.stderr, /^neurstore: NOT_FOUND: no model named 'nope'/);
  const notPg = await runCli('--store', storeDir, 'infer', 'm0', '--db', 'x.sqlite', '--query', 'q', '--into', 't');
  assert.equal(notPg.code, EXIT_CODES.INVALID_ARGUMENT);
});
