/**
 * `npm run bench:server`: model downloads from the hub server (`GET /{repo}/resolve/main/{path}`, the files
 * rebuilt from the tensor store as they decode) against the same files served plain from disk by the same
 * server (`/api/neurstore/plain/{path}`), on loopback, C concurrent clients (default 8), each file fetched
 * R rounds (default 10) per contender; every response's sha256 is checked against the original. A third
 * contender, `store`, is no HTTP at all: the same C-way concurrent `NeurStore.write` of the model into a null sink
 * in this process, stopped (as the hub stops) once the file's bytes are out, so HUB/STORE is what the server adds
 * on top of the store's decode. Prints requests/s, MB/s, p50/p99 latency per file and contender, and the load
 * average (`os.loadavg`) before and after; --json for machine-readable output.
 * Flags: --clients C, --rounds R, --mode lossless|default (how the models are stored), --json,
 * --seconds N and --load-clients L for the mixed load below.
 *
 * Then a time-bounded mixed load (issue #15 item 6), --seconds N (default 60; 0 skips it) with --load-clients L
 * (default 32) concurrent clients, each looping: mostly downloads (the model files and small files; sha256 of
 * every body checked), some uploads (a small commit through the Hub API with @huggingface/hub uploadFiles, into
 * the client's own repository, then downloaded and checked). Twice: (a) one server on a directory store, (b) two
 * servers on one throwaway PostgreSQL store (src/testing/pg-server.ts), clients alternating between them, each
 * upload going through one server and read back through the other. Servers run in child processes (this file
 * with --serve-child) so their RSS is sampled every second from /proc/PID/status. A failure is any non-2xx that
 * should have succeeded, any thrown request, any byte mismatch: printed, and the bench exits non-zero.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { uploadFiles } from '@huggingface/hub';
import { createToken } from '../src/registry/tokens.js';
import { pgBinDir, startPgServer, type PgServer } from '../src/testing/pg-server.js';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry, type CommitOp } from '../src/registry/registry.js';
import { buildServer } from '../src/http/server.js';
import { formatBytes, table } from '../src/cli/format-output.js';
import { SHARED_MNIST_DIR, ensureFixtures, fixturePath } from '../scripts/fetch-fixtures.js';
import type { Mode } from '../src/store/store-types.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const CLIENTS = Number(arg('clients') ?? 8);
const ROUNDS = Number(arg('rounds') ?? 10);
const MODE = (arg('mode') ?? 'lossless') as Mode;
const JSON_OUT = process.argv.includes('--json');
const SECONDS = Number(arg('seconds') ?? 60);
const LOAD_CLIENTS = Number(arg('load-clients') ?? 32);

if (!process.argv.includes('--serve-child')) ensureFixtures();
const FILES: Record<string, string> = {
  'model.safetensors': join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors'),
  'onnx/model.onnx': fixturePath('vad-web', 'silero_vad_v5.onnx'),
  'tfjs/faceres.json': fixturePath('human-models', 'faceres.json'),
  'tfjs/faceres.bin': fixturePath('human-models', 'faceres.bin'),
};

interface Row { file: string; contender: 'hub' | 'plain' | 'store'; requests: number; bytes: number; seconds: number; p50ms: number; p99ms: number; bad: number }

async function measure(url: (file: string) => string, file: string, contender: Row['contender'], expected: string): Promise<Row> {
  const latencies: number[] = [];
  let bytes = 0;
  let bad = 0;
  let next = 0;
  const total = CLIENTS * ROUNDS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < total) {
      next++;
      const s = performance.now();
      const res = await fetch(url(file));
      const body = Buffer.from(await res.arrayBuffer());
      latencies.push(performance.now() - s);
      bytes += body.length;
      if (res.status !== 200 || createHash('sha256').update(body).digest('hex') !== expected) bad++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { file, contender, requests: latencies.length, bytes, seconds, p50ms: q(0.5), p99ms: q(0.99), bad };
}

/**
 * `NeurStore.write` of the model holding `path` into a null sink, C-way concurrent, R rounds each: the bytes of
 * that member counted (and hashed, as the clients hash bodies), the write stopped once they are out.
 */
async function measureStore(reg: Registry, path: string, expected: string): Promise<Row> {
  const f = await reg.file(await reg.resolve('bench/models'), path);
  const model = await reg.modelOf(f.ref);
  const target = model.members.findIndex((m) => m.member === f.member);
  const latencies: number[] = [];
  let bytes = 0;
  let bad = 0;
  let next = 0;
  const total = CLIENTS * ROUNDS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < total) {
      next++;
      const s = performance.now();
      const hash = createHash('sha256');
      const stop = new AbortController();
      let got = 0;
      let index = 0;
      await reg.store.write(model.name, {
        create: async () => {
          const mine = index++ === target;
          return {
            write: async (chunk) => {
              if (!mine) return;
              hash.update(chunk);
              got += chunk.length;
              if (got >= f.size) stop.abort();
            },
            close: async () => {},
          };
        },
      }, { signal: stop.signal }).catch((e: unknown) => {
        if (!stop.signal.aborted) throw e;
      });
      latencies.push(performance.now() - s);
      bytes += got;
      if (got !== f.size || hash.digest('hex') !== expected) bad++;
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { file: path, contender: 'store', requests: latencies.length, bytes, seconds, p50ms: q(0.5), p99ms: q(0.99), bad };
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<LoadPhase[]> {
  const loadBefore = load();
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-server-'));
  try {
    const plain = join(dir, 'plain');
    for (const [path, src] of Object.entries(FILES)) {
      mkdirSync(join(plain, path, '..'), { recursive: true });
      copyFileSync(src, join(plain, ...path.split('/')));
    }
    const reg = await Registry.open(join(dir, 'store'), { create: true });
    await reg.createRepo('bench/models', { mode: MODE });
    const ops: CommitOp[] = Object.keys(FILES).map((path) => ({ op: 'put', path, file: join(plain, ...path.split('/')) }));
    await reg.commit('bench/models', ops);
    const app = await buildServer(reg, { anonymousRead: true, plainFilesDir: plain });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const rows: Row[] = [];
    // Warm-up (not counted): every path of every contender once, so no contender pays for first-call compilation.
    for (const path of Object.keys(FILES)) {
      for (const u of [`${base}/bench/models/resolve/main/${path}`, `${base}/api/neurstore/plain/${path}`]) await (await fetch(u)).arrayBuffer();
      const f = await reg.file(await reg.resolve('bench/models'), path);
      await reg.fileBytes(f);
    }
    for (const path of Object.keys(FILES)) {
      const expected = (await reg.file(await reg.resolve('bench/models'), path)).sha256; // the bytes served (the original's in lossless mode)
      const original = createHash('sha256').update(readFileSync(FILES[path]!)).digest('hex');
      const hub = await measure((f) => `${base}/bench/models/resolve/main/${f}`, path, 'hub', expected);
      const flat = await measure((f) => `${base}/api/neurstore/plain/${f}`, path, 'plain', original);
      const store = await measureStore(reg, path, expected);
      rows.push(hub, flat, store);
    }
    await app.close();
    await reg.close();
    const header = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, clients: CLIENTS, rounds: ROUNDS, mode: MODE, loadBefore, loadAfterDownloads: load() };
    const phases = SECONDS > 0 ? await loadPhases(dir, plain) : [];
    if (JSON_OUT) {
      console.log(JSON.stringify({ ...header, rows, load: { seconds: SECONDS, clients: LOAD_CLIENTS, phases } }, null, 2));
      if (rows.some((r) => r.bad > 0) || phases.some((p) => p.failures.length > 0)) process.exitCode = 1;
      return phases;
    }
    console.log(`node ${header.node}, ${header.cpu}, ${header.cores} cores; ${CLIENTS} concurrent clients, ${ROUNDS} rounds each; models stored ${MODE}; load average ${loadBefore} before, ${header.loadAfterDownloads} after the downloads`);
    const mbs = (r: Row) => r.bytes / r.seconds / 1e6;
    console.log(table(['FILE', 'SERVED', 'SIZE', 'REQ/S', 'MB/S', 'P50 MS', 'P99 MS', 'BAD', 'HUB/PLAIN MB/S', 'HUB/STORE MB/S'], rows.map((r, i) => [
      r.file, r.contender, formatBytes(r.bytes / r.requests), (r.requests / r.seconds).toFixed(1), mbs(r).toFixed(1), r.p50ms.toFixed(1), r.p99ms.toFixed(1), r.bad,
      r.contender === 'hub' ? `${(mbs(r) / mbs(rows[i + 1]!)).toFixed(2)}x` : '',
      r.contender === 'hub' ? `${(mbs(r) / mbs(rows[i + 2]!)).toFixed(2)}x` : '',
    ])));
    if (rows.some((r) => r.bad > 0)) process.exitCode = 1;
    printLoad(phases);
    return phases;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the mixed load phase (issue #15 item 6) ----

const SMALL_FILES: Record<string, Buffer> = {
  'config.json': Buffer.from(JSON.stringify({ model_type: 'bench', hidden_size: 64, num_layers: 2 })),
  'README.md': Buffer.from('# bench/models\n\nFiles for the server bench.\n'.repeat(40)),
  'tokenizer.json': Buffer.from(JSON.stringify({ vocab: Object.fromEntries(Array.from({ length: 4000 }, (_, i) => [`tok${i}`, i])) })),
};

interface LoadStat { kind: 'model' | 'small' | 'readback' | 'upload'; requests: number; bytes: number; p50ms: number; p99ms: number }
interface RssReport { pid: number; startMB: number; warmMB: number; peakMB: number; endMB: number; flat: boolean }
interface LoadPhase { name: string; servers: number; seconds: number; requests: number; requestsPerSec: number; mbPerSec: number; stats: LoadStat[]; rss: RssReport[]; failures: string[] }

function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** This file with --serve-child LOCATION --plain DIR: opens the store, serves it, prints `PORT n`, stops on SIGTERM. */
async function serveChild(location: string, plainDir: string): Promise<void> {
  const reg = await Registry.open(location);
  const app = await buildServer(reg, { anonymousRead: true, plainFilesDir: plainDir });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`PORT ${(app.server.address() as AddressInfo).port}\n`);
  process.once('SIGTERM', () => { void app.close().then(() => reg.close()).finally(() => process.exit(0)); });
}

function startChild(location: string, plainDir: string): Promise<{ proc: ChildProcess; base: string }> {
  const proc = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve-child', location, '--plain', plainDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let done = false;
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m && !done) { done = true; resolve({ proc, base: `http://127.0.0.1:${m[1]}` }); }
    });
    proc.once('exit', (code) => { if (!done) { done = true; reject(new Error(`server child exited with ${code} before listening`)); } });
  });
}

function stopChild(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null) { resolve(); return; }
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => { clearTimeout(t); resolve(); });
    proc.kill('SIGTERM');
  });
}

/** The models and small files in bench/models, one repository per client for its uploads, a write token. */
async function setupLoadStore(location: string, plain: string, smallDir: string): Promise<{ token: string; expected: Map<string, string> }> {
  const reg = await Registry.open(location, { create: true });
  try {
    await reg.createRepo('bench/models', { mode: MODE });
    const ops: CommitOp[] = [
      ...Object.keys(FILES).map((path): CommitOp => ({ op: 'put', path, file: join(plain, ...path.split('/')) })),
      ...Object.keys(SMALL_FILES).map((path): CommitOp => ({ op: 'put', path, file: join(smallDir, path) })),
    ];
    await reg.commit('bench/models', ops);
    for (let i = 0; i < LOAD_CLIENTS; i++) await reg.createRepo(`bench/up-${i}`);
    const head = await reg.resolve('bench/models');
    const expected = new Map<string, string>();
    for (const path of [...Object.keys(FILES), ...Object.keys(SMALL_FILES)]) expected.set(path, (await reg.file(head, path)).sha256);
    for (const [path, bytes] of Object.entries(SMALL_FILES)) {
      if (expected.get(path) !== sha256(bytes)) throw new Error(`${path}: the store's sha256 is not the original's`);
    }
    const token = (await createToken(reg.db, 'bench', 'write', 'bench/*')).secret;
    return { token, expected };
  } finally {
    await reg.close();
  }
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function runLoad(name: string, location: string, servers: number, plain: string, smallDir: string): Promise<LoadPhase> {
  const { token, expected } = await setupLoadStore(location, plain, smallDir);
  const children: Array<{ proc: ChildProcess; base: string }> = [];
  for (let i = 0; i < servers; i++) children.push(await startChild(location, plain));
  const bases = children.map((c) => c.base);
  const lat: Record<LoadStat['kind'], number[]> = { model: [], small: [], readback: [], upload: [] };
  const bytes: Record<LoadStat['kind'], number> = { model: 0, small: 0, readback: 0, upload: 0 };
  const failures: string[] = [];
  const fail = (msg: string) => { failures.push(msg); if (!JSON_OUT && failures.length <= 20) console.error(`FAIL ${name}: ${msg}`); };

  // Warm up: one of each download per server before RSS "start" and the clock.
  for (const base of bases) for (const path of expected.keys()) await (await fetch(`${base}/bench/models/resolve/main/${path}`)).arrayBuffer();
  const samples: number[][] = children.map((c) => [rssMB(c.proc.pid!)]);
  const sampler = setInterval(() => children.forEach((c, i) => samples[i]!.push(rssMB(c.proc.pid!))), 1000);

  const download = async (kind: LoadStat['kind'], url: string, want: string): Promise<void> => {
    const t = performance.now();
    try {
      const res = await fetch(url);
      const body = Buffer.from(await res.arrayBuffer());
      lat[kind].push(performance.now() - t);
      bytes[kind] += body.length;
      if (res.status !== 200) fail(`GET ${url}: HTTP ${res.status} ${body.subarray(0, 200).toString()}`);
      else if (sha256(body) !== want) fail(`GET ${url}: sha256 mismatch (${body.length} bytes)`);
    } catch (e) {
      lat[kind].push(performance.now() - t);
      fail(`GET ${url}: ${(e as Error).message}`);
    }
  };
  const models = Object.keys(FILES);
  const smalls = Object.keys(SMALL_FILES);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  const t0 = performance.now();
  const deadline = t0 + SECONDS * 1000;
  await Promise.all(Array.from({ length: LOAD_CLIENTS }, async (_, c) => {
    const down = bases[c % bases.length]!; // clients alternate between the servers
    const up = bases[(c + 1) % bases.length]!; // uploads through the other one (the same one when there is one)
    let n = 0;
    while (performance.now() < deadline) {
      const r = Math.random();
      if (r < 0.1) {
        const path = `uploads/f-${n++}.txt`;
        const content = Buffer.from(randomBytes(256 + Math.floor(Math.random() * 8192)).toString('hex'));
        const t = performance.now();
        try {
          await uploadFiles({ repo: `bench/up-${c}`, accessToken: token, hubUrl: up, commitTitle: `load ${n}`, files: [{ path, content: new Blob([content]) }] });
          lat.upload.push(performance.now() - t);
          bytes.upload += content.length;
        } catch (e) {
          lat.upload.push(performance.now() - t);
          fail(`upload bench/up-${c}/${path} via ${up}: ${(e as Error).message}`);
          continue;
        }
        await download('readback', `${down}/bench/up-${c}/resolve/main/${path}`, sha256(content));
      } else if (r < 0.55) {
        const path = pick(models);
        await download('model', `${down}/bench/models/resolve/main/${path}`, expected.get(path)!);
      } else {
        const path = pick(smalls);
        await download('small', `${down}/bench/models/resolve/main/${path}`, expected.get(path)!);
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  children.forEach((c, i) => samples[i]!.push(rssMB(c.proc.pid!)));
  for (const c of children) await stopChild(c.proc);

  const warmAt = Math.min(10, Math.max(1, Math.floor(SECONDS / 4))); // samples are 1 s apart; index 0 is the start
  const rss = children.map((c, i): RssReport => {
    const s = samples[i]!.filter((x) => Number.isFinite(x));
    const warmMB = s[Math.min(warmAt, s.length - 1)]!;
    const endMB = s[s.length - 1]!;
    return { pid: c.proc.pid!, startMB: s[0]!, warmMB, peakMB: Math.max(...s), endMB, flat: Math.abs(endMB - warmMB) <= 0.2 * warmMB };
  });
  const q = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]! : NaN);
  const stats = (Object.keys(lat) as LoadStat['kind'][]).map((kind): LoadStat => {
    const xs = lat[kind].sort((a, b) => a - b);
    return { kind, requests: xs.length, bytes: bytes[kind], p50ms: q(xs, 0.5), p99ms: q(xs, 0.99) };
  });
  const requests = stats.reduce((a, s) => a + s.requests, 0);
  const downBytes = bytes.model + bytes.small + bytes.readback;
  return { name, servers, seconds, requests, requestsPerSec: requests / seconds, mbPerSec: downBytes / seconds / 1e6, stats, rss, failures };
}

async function loadPhases(dir: string, plain: string): Promise<LoadPhase[]> {
  const smallDir = join(dir, 'small');
  mkdirSync(smallDir, { recursive: true });
  for (const [path, bytes] of Object.entries(SMALL_FILES)) writeFileSync(join(smallDir, path), bytes);
  const phases = [await runLoad('(a) directory store, 1 server', join(dir, 'load-store'), 1, plain, smallDir)];
  if (!pgBinDir()) {
    if (!JSON_OUT) console.log('(b) skipped: PostgreSQL is not installed (apt-get install -y postgresql)');
    return phases;
  }
  let pg: PgServer | undefined;
  try {
    pg = await startPgServer();
    phases.push(await runLoad('(b) PostgreSQL store, 2 servers', pg.url, 2, plain, smallDir));
  } finally {
    await pg?.stop();
  }
  return phases;
}

function printLoad(phases: LoadPhase[]): void {
  for (const p of phases) {
    console.log(`\nmixed load ${p.name}: ${LOAD_CLIENTS} clients for ${p.seconds.toFixed(1)} s: ${p.requests} requests, ${p.requestsPerSec.toFixed(1)} req/s, ${p.mbPerSec.toFixed(1)} MB/s downloaded, ${p.failures.length} failures`);
    console.log(table(['KIND', 'REQUESTS', 'REQ/S', 'MB/S', 'P50 MS', 'P99 MS'], p.stats.map((s) => [
      s.kind === 'upload' ? 'upload (commit)' : s.kind === 'readback' ? 'upload read back' : `${s.kind} download`,
      s.requests, (s.requests / p.seconds).toFixed(1), (s.bytes / p.seconds / 1e6).toFixed(2), s.p50ms.toFixed(1), s.p99ms.toFixed(1),
    ])));
    for (const [i, r] of p.rss.entries()) {
      console.log(`server ${i + 1} (pid ${r.pid}) RSS: start ${r.startMB.toFixed(0)} MB, after warm-up ${r.warmMB.toFixed(0)} MB, peak ${r.peakMB.toFixed(0)} MB, end ${r.endMB.toFixed(0)} MB: ${r.flat ? 'flat (end within 20% of after warm-up)' : 'NOT flat'}`);
    }
    if (p.failures.length > 20) console.log(`(${p.failures.length - 20} more failures not printed)`);
  }
  if (phases.length) console.log(`\nload average after the mixed load: ${load()}`);
  if (phases.some((p) => p.failures.length > 0)) process.exitCode = 1;
}

const child = arg('serve-child');
if (child) await serveChild(child, arg('plain')!);
else await main();
