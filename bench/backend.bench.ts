/**
 * `npm run bench:backend`: put and get throughput of records (8 MiB + 64 B each, seeded, incompressible: a
 * chunked tensor's chunk and its header) on the embedded backend and on PostgreSQL side by side (PostgreSQL
 * for each page size asked), then 1, 2 and 4 client processes putting into one PostgreSQL at once (aggregate MB/s), then the load test
 * (4 processes x --ops mixed put/get/rm/gc, then every surviving model checked byte-exact).
 * Flags: --mb N (data per run, default 256), --pages 1,4,8 (page sizes in MiB, default 4), --procs 1,2,4, --ops 100,
 * --url postgres://... (default: a throwaway server started here, fsync off like the tests'), --json.
 * A put is one write appending every record in turn; a get reads every record in turn (checksum-verified).
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SeededRandom } from '../src/env/seeded-random.js';
import { table } from '../src/cli/format-output.js';
import type { Backend } from '../src/backend/backend.js';
import { PostgresBackend } from '../src/backend/postgres/postgres-backend.js';
import { startPgServer } from '../src/testing/pg-server.js';
import { content } from '../src/backend/postgres/testing/load-child.js';

const MIB = 1024 * 1024;
/** A chunk of a chunked tensor (8 MiB) plus its record header. */
const RECORD_BYTES = 8 * MIB + 64;
const flag = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const MB = Number(flag('mb', '256'));
const list = (name: string, dflt: string): number[] => flag(name, dflt).split(',').map(Number);

function records(seed: number, mb: number): Map<bigint, Uint8Array> {
  const rng = new SeededRandom(seed);
  return new Map(Array.from({ length: Math.max(1, Math.round((mb * MIB) / RECORD_BYTES)) }, () => [rng.u64(), rng.bytes(RECORD_BYTES)] as const));
}

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;
const mbps = (bytes: number, s: number): number => Math.round(bytes / 1e6 / s);
const total = (r: Map<bigint, Uint8Array>): number => [...r.values()].reduce((n, v) => n + v.length, 0);

async function put(b: Backend, r: Map<bigint, Uint8Array>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await b.write(async (tx) => { for (const [k, v] of r) await tx.records.append(k, v); });
  return seconds(t0);
}

async function get(b: Backend, r: Map<bigint, Uint8Array>): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (const [k, v] of r) if ((await b.records.get(k)).length !== v.length) throw new Error(`record ${k} came back short`);
  return seconds(t0);
}

/** Child mode: open the store, make this child's records, say `ready`, put on `go`, print the seconds. */
async function child(url: string, seed: number, mb: number): Promise<void> {
  const b = await PostgresBackend.open(url);
  const r = records(seed, mb);
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdout.write(`${await put(b, r)}\n`);
  await b.close();
}

/** `n` processes putting `mb` each at once: aggregate MB/s from `go` to the last one done. */
async function processes(url: string, n: number, mb: number): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  const kids = Array.from({ length: n }, (_, i) => spawn(process.execPath, ['--import', 'tsx', script, '--child', url, String(1000 + n * 10 + i), String(mb)],
    { stdio: ['pipe', 'pipe', 'inherit'] }));
  const lines = kids.map((k) => {
    const out: string[] = [];
    k.stdout.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
    return out;
  });
  const until = (pred: () => boolean) => new Promise<void>((resolve) => { const t = setInterval(() => { if (pred()) { clearInterval(t); resolve(); } }, 20); });
  await until(() => lines.every((l) => l.includes('ready')));
  const t0 = process.hrtime.bigint();
  for (const k of kids) k.stdin.end('go\n'); // ended: a child's open stdin would keep it alive
  await Promise.all(kids.map((k) => new Promise((resolve) => k.once('exit', resolve))));
  return mbps(n * mb * MIB, seconds(t0));
}

/**
 * The load test: 4 processes x `ops` seeded put/get/rm/gc operations at once (src/backend/postgres/testing/
 * load-child.ts), then every surviving model's records read back byte-exact and the catalog checks clean.
 */
async function load(url: string, ops: number): Promise<{ processes: number; ops: number; seconds: number; models: number; intact: boolean }> {
  const child = fileURLToPath(new URL('../src/backend/postgres/testing/load-child.ts', import.meta.url));
  const t0 = process.hrtime.bigint();
  const codes = await Promise.all([1, 2, 3, 4].map((id) => new Promise<number | null>((resolve) => {
    spawn(process.execPath, ['--import', 'tsx', child, url, String(id), String(ops)], { stdio: 'inherit' }).once('exit', resolve);
  })));
  const s = seconds(t0);
  const b = await PostgresBackend.open(url);
  let intact = codes.every((c) => c === 0) && (await b.catalog.check()).length === 0;
  const models = await b.catalog.modelNames();
  for (const name of models) {
    for (const t of await b.catalog.tensors(name)) intact &&= Buffer.from(await b.records.get(t.recordKey)).equals(Buffer.from(content(t.recordKey)));
  }
  await b.close();
  return { processes: 4, ops, seconds: Math.round(s * 10) / 10, models: models.length, intact };
}

async function freshDb(admin: string, name: string): Promise<string> {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const i = process.argv.indexOf('--child');
    return child(process.argv[i + 1]!, Number(process.argv[i + 2]), Number(process.argv[i + 3]));
  }
  const given = process.argv.includes('--url') ? flag('url', '') : undefined;
  const server = given ? undefined : await startPgServer();
  const admin = given ?? server!.url;
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-backend-'));
  const rows: Array<{ backend: string; pageMiB: number | null; putMBps: number; getMBps: number }> = [];
  try {
    const data = records(1, MB);
    const bytes = total(data);
    // The embedded backend, when this checkout has it (src/backend/sqlite/, loaded by path so this file builds without it).
    const sqlitePath = '../src/backend/sqlite/sqlite-backend.js';
    const sqlite = await import(sqlitePath).catch(() => undefined) as { SqliteBackend: { open(d: string, o: { create: boolean }): Promise<Backend> } } | undefined;
    if (sqlite) {
      const b = await sqlite.SqliteBackend.open(join(dir, 'store'), { create: true });
      rows.push({ backend: 'sqlite', pageMiB: null, putMBps: mbps(bytes, await put(b, data)), getMBps: mbps(bytes, await get(b, data)) });
      await b.close();
    }
    for (const page of list('pages', '4')) {
      const b = await PostgresBackend.open(await freshDb(admin, `bench_page_${page}`), { create: true, pageBytes: page * MIB });
      rows.push({ backend: 'postgres', pageMiB: page, putMBps: mbps(bytes, await put(b, data)), getMBps: mbps(bytes, await get(b, data)) });
      if (!process.argv.includes('--json')) console.error(`  postgres, ${page} MiB pages: put ${rows.at(-1)!.putMBps} MB/s, get ${rows.at(-1)!.getMBps} MB/s`);
      await b.close();
    }
    const procs: Array<{ processes: number; putMBps: number }> = [];
    for (const n of list('procs', '1,2,4')) {
      const url = await freshDb(admin, `bench_procs_${n}`);
      await (await PostgresBackend.open(url, { create: true })).close();
      procs.push({ processes: n, putMBps: await processes(url, n, Math.max(8, Math.round(MB / 4))) });
    }
    const loadUrl = await freshDb(admin, 'bench_load');
    await (await PostgresBackend.open(loadUrl, { create: true })).close();
    const loaded = await load(loadUrl, Number(flag('ops', '100')));
    const header = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, recordBytes: RECORD_BYTES, mb: MB };
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ ...header, rows, processes: procs, load: loaded }, null, 2));
      return;
    }
    console.log(`bench:backend  node ${header.node}  ${header.cpu}  ${header.cores} cores  ${MB} MiB of records of 8 MiB + 64 B`);
    console.log(table(['backend', 'page MiB', 'put MB/s', 'get MB/s'], rows.map((r) => [r.backend, r.pageMiB ?? '-', r.putMBps, r.getMBps])));
    console.log(`\nPostgreSQL, client processes putting ${Math.max(8, Math.round(MB / 4))} MB each at once:`);
    console.log(table(['processes', 'aggregate put MB/s'], procs.map((p) => [p.processes, p.putMBps])));
    console.log(`\nLoad: ${loaded.processes} processes x ${loaded.ops} mixed put/get/rm/gc operations in ${loaded.seconds} s`
      + ` (${Math.round((loaded.processes * loaded.ops) / loaded.seconds)} ops/s); ${loaded.models} surviving models`
      + ` ${loaded.intact ? 'all byte-exact, catalog clean' : 'NOT INTACT'}`);
    if (!loaded.intact) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  }
}

await main();
