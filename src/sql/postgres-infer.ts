/**
 * `neurstore infer MODEL --db postgres://... --query Q --into TABLE` as a library call (the paper's
 * `ns_inference(model_id, query, dsn, ...)`): streams Q's rows with binary COPY (never all in memory), scores
 * them in batches with the stored model, and writes `(key, prediction, scores)` rows into TABLE with COPY,
 * one transaction per batch, so a failure midway leaves whole batches only. TABLE is created when missing.
 *
 * Q's columns: the `key` column (if named) and the features, either one array column (real[], float8[],
 * int[], numeric[]: cast to real[] by PostgreSQL) or one bytea of float32s, or else every other column, each a
 * number (a row's features in column order). The key is carried as text and stored in the key's own type; with
 * no key, rows are numbered from 1 in Q's order (`row_number`). `resume` scores only rows whose key is not in
 * TABLE yet.
 */
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { NeurStoreError, conflict, invalidArgument, ioError, isNeurStoreError } from '../errors.js';
import type { LoadMode } from '../runtime/load-forms.js';
import type { NeurStore } from '../store/neur-store.js';
import { argmax, openRunner, type ModelRunner } from './model-runner.js';
import { CopyBinaryParser, decodeFloat32Bytea, decodeFloat4Array } from './pg-copy-binary.js';
import { sqlIdent } from './store-tables.js';

export const DEFAULT_INFER_BATCH = 1024;

export interface InferOptions {
  readonly model: string;
  /** postgres://user@host:port/db */
  readonly db: string;
  /** A SELECT whose rows are scored. */
  readonly query: string;
  /** The table written (`schema.table` or `table`); created if missing. */
  readonly into: string;
  /** Q's key column, copied into TABLE; default: rows numbered from 1 (`row_number`). */
  readonly key?: string;
  readonly mode?: LoadMode;
  /** Rows per runtime call and per written transaction (default 1024). */
  readonly batch?: number;
  /** Score only rows whose key TABLE does not hold yet (needs `key`). */
  readonly resume?: boolean;
  readonly onProgress?: (p: { rows: number; batches: number }) => void;
}

export interface InferResult {
  readonly rows: number;
  readonly batches: number;
  readonly table: string;
  readonly keyColumn: string;
  readonly seconds: number;
}

const NUMERIC_OIDS = new Set([20, 21, 23, 700, 701, 1700]);
const NUMERIC_ARRAY_OIDS = new Set([1005, 1007, 1016, 1021, 1022, 1231]);
const BYTEA_OID = 17;

/** `schema.table` quoted part by part. */
function qualified(name: string): string {
  if (!/^[^.]+(\.[^.]+)?$/.test(name)) throw invalidArgument(`--into '${name}' is not a table name (table or schema.table)`);
  return name.split('.').map(sqlIdent).join('.');
}

/** A PostgreSQL or connection error as a NeurStoreError: bad SQL and data are INVALID_ARGUMENT, the rest IO_ERROR. */
export function pgError(e: unknown, what: string): NeurStoreError {
  if (isNeurStoreError(e)) return e;
  const err = e as Error & { code?: string };
  const sqlstate = typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) ? err.code : '';
  const message = `${what}: ${err.message}`;
  if (['42', '22', '28', '3D', '0A', '23'].includes(sqlstate.slice(0, 2))) return invalidArgument(message, e);
  return ioError(what, e);
}

interface Plan {
  readonly select: string;
  readonly keyColumn: string;
  readonly keyType: string;
  readonly features: 'array' | 'bytea' | 'columns';
}

async function plan(client: pg.Client, o: InferOptions): Promise<Plan> {
  const described = await client.query(`SELECT * FROM (${o.query}) AS q LIMIT 0`).catch((e) => { throw pgError(e, 'the query failed'); });
  const fields = described.fields;
  const key = o.key === undefined ? undefined : fields.find((f) => f.name === o.key);
  if (o.key !== undefined && !key) throw invalidArgument(`--key ${o.key}: the query has no such column (it has ${fields.map((f) => f.name).join(', ')})`);
  const rest = fields.filter((f) => f !== key);
  const typeName = async (oid: number): Promise<string> => (await client.query('SELECT format_type($1, NULL) AS t', [oid])).rows[0].t as string;
  const keyType = key ? await typeName(key.dataTypeID) : 'bigint';
  const keyExpr = key ? `q.${sqlIdent(key.name)}::text` : '(row_number() OVER ())::text';
  let features: Plan['features'];
  let expr: string;
  if (rest.length === 1 && NUMERIC_ARRAY_OIDS.has(rest[0]!.dataTypeID)) [features, expr] = ['array', `q.${sqlIdent(rest[0]!.name)}::real[]`];
  else if (rest.length === 1 && rest[0]!.dataTypeID === BYTEA_OID) [features, expr] = ['bytea', `q.${sqlIdent(rest[0]!.name)}`];
  else {
    const bad = [];
    for (const f of rest) if (!NUMERIC_OIDS.has(f.dataTypeID)) bad.push(`${f.name} (${await typeName(f.dataTypeID)})`);
    if (rest.length === 0 || bad.length) {
      throw invalidArgument(`the query's features must be one numeric array column, one bytea of float32s, or numeric columns; ${rest.length === 0 ? 'it has none besides the key' : `not numeric: ${bad.join(', ')}`}`);
    }
    [features, expr] = ['columns', `ARRAY[${rest.map((f) => `q.${sqlIdent(f.name)}`).join(', ')}]::real[]`];
  }
  const keyColumn = key ? key.name : 'row_number';
  let from = `(${o.query}) AS q`;
  if (o.resume) {
    if (!key) throw invalidArgument('--resume needs --key: rows are recognised by their key');
    from += ` WHERE NOT EXISTS (SELECT 1 FROM ${qualified(o.into)} AS t WHERE t.${sqlIdent(keyColumn)} = q.${sqlIdent(key.name)})`;
  }
  return { select: `SELECT ${keyExpr}, ${expr} FROM ${from}`, keyColumn, keyType, features };
}

/** Creates TABLE if missing; checks an existing one has the columns and (unless resuming) no rows. */
async function prepareTable(client: pg.Client, o: InferOptions, p: Plan): Promise<void> {
  const table = qualified(o.into);
  const exists = (await client.query('SELECT to_regclass($1) AS r', [table])).rows[0].r !== null;
  if (!exists) {
    await client.query(`CREATE TABLE ${table} (${sqlIdent(p.keyColumn)} ${p.keyType}, prediction integer, scores real[])`);
    return;
  }
  const cols = (await client.query('SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped', [table])).rows.map((r) => r.attname as string);
  const missing = [p.keyColumn, 'prediction', 'scores'].filter((c) => !cols.includes(c));
  if (missing.length) throw invalidArgument(`table ${o.into} exists without column(s) ${missing.join(', ')} (it has ${cols.join(', ')}): name another --into table`);
  if (!o.resume && (await client.query(`SELECT EXISTS (SELECT 1 FROM ${table}) AS e`)).rows[0].e) {
    throw conflict(`table ${o.into} already holds rows: add --resume to score only the rows it lacks (with --key), or drop it first`);
  }
}

/** COPY text escaping of one field. */
function copyText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!);
}

async function writeBatch(client: pg.Client, o: InferOptions, p: Plan, keys: Array<string | null>, scores: Float32Array, perRow: number): Promise<void> {
  const lines: string[] = [];
  for (let i = 0; i < keys.length; i++) {
    const row = scores.subarray(i * perRow, (i + 1) * perRow);
    lines.push(`${keys[i] === null ? '\\N' : copyText(keys[i]!)}\t${argmax(scores, i * perRow, perRow)}\t{${Array.from(row).join(',')}}\n`);
  }
  await client.query('BEGIN');
  try {
    const stream = client.query(copyFrom(`COPY ${qualified(o.into)} (${sqlIdent(p.keyColumn)}, prediction, scores) FROM STDIN`));
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(lines.join(''));
    });
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Streams, scores and writes; see the module comment. The store is only read. */
export async function inferPostgres(store: NeurStore, o: InferOptions): Promise<InferResult> {
  const batch = o.batch ?? DEFAULT_INFER_BATCH;
  if (!Number.isInteger(batch) || batch < 1) throw invalidArgument(`--batch must be a whole number >= 1, got ${o.batch}`);
  const started = performance.now();
  const runner = await openRunner(store, o.model, o.mode ?? 'fp32');
  const reader = new pg.Client({ connectionString: o.db });
  const writer = new pg.Client({ connectionString: o.db });
  let rows = 0;
  let batches = 0;
  let p: Plan | undefined;
  try {
    await Promise.all([reader.connect(), writer.connect()]).catch((e) => { throw pgError(e, `cannot connect to ${o.db.replace(/:[^:@/]*@/, ':***@')}`); });
    p = await plan(reader, o);
    await prepareTable(writer, o, p).catch((e) => { throw pgError(e, `cannot prepare table ${o.into}`); });
    const parser = new CopyBinaryParser();
    const stream = reader.query(copyTo(`COPY (${p.select}) TO STDOUT (FORMAT binary)`));
    let keys: Array<string | null> = [];
    let vectors: Float32Array[] = [];
    const flush = async (): Promise<void> => {
      if (!keys.length) return;
      const { scores, perRow } = await runFeatures(runner, vectors, keys, rows, p!.keyColumn);
      await writeBatch(writer, o, p!, keys, scores, perRow).catch((e) => { throw pgError(e, `writing into ${o.into} failed`); });
      rows += keys.length;
      batches++;
      keys = [];
      vectors = [];
      o.onProgress?.({ rows, batches });
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const t of parser.push(chunk)) {
          const key = t[0] ? t[0].toString('utf8') : null;
          const where = `row ${rows + keys.length + 1}${key === null ? '' : ` (${p.keyColumn} ${key})`}`;
          if (!t[1]) throw invalidArgument(`${where}: features are NULL`);
          const x = p.features === 'bytea' ? decodeFloat32Bytea(t[1], where) : decodeFloat4Array(t[1], where);
          keys.push(key);
          vectors.push(x);
          if (keys.length === batch) await flush();
        }
      }
    } catch (e) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      throw pgError(e, 'reading the query\'s rows failed');
    }
    await flush();
    return { rows, batches, table: o.into, keyColumn: p.keyColumn, seconds: (performance.now() - started) / 1000 };
  } catch (e) {
    const err = isNeurStoreError(e) ? e : pgError(e, 'infer failed');
    if (!p) throw err;
    const resume = o.key ? `rerun with --resume to score only the rows ${o.into} lacks` : `rerun with --key KEYCOLUMN --resume to continue (without a key, drop ${o.into} and rerun)`;
    throw new NeurStoreError(err.code, `${err.message}; ${o.into} holds the ${rows} rows of ${batches} whole batch(es) written before it: ${resume}`, { cause: e });
  } finally {
    await runner.close();
    await Promise.all([reader.end().catch(() => undefined), writer.end().catch(() => undefined)]);
  }
}

async function runFeatures(
  runner: ModelRunner, vectors: Float32Array[], keys: Array<string | null>, before: number, keyColumn: string,
): Promise<{ scores: Float32Array; perRow: number }> {
  const f = runner.features ?? vectors[0]!.length;
  const x = new Float32Array(vectors.length * f);
  vectors.forEach((v, i) => {
    const where = `row ${before + i + 1}${keys[i] === null ? '' : ` (${keyColumn} ${keys[i]})`}`;
    if (v.length !== f) throw invalidArgument(`${where}: model '${runner.model}' takes ${f} features per row, got ${v.length}`);
    const bad = v.findIndex((e) => !Number.isFinite(e));
    if (bad >= 0) throw invalidArgument(`${where}: feature ${bad + 1} is ${v[bad]} (not a finite number)`);
    x.set(v, i * f);
  });
  return runner.run(x, vectors.length);
}
