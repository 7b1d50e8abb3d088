/**
 * `npm run bench:server`: model downloads from the hub server (`GET /{repo}/resolve/main/{path}`, the files
 * rebuilt from the tensor store as they decode) against the same files served plain from disk by the same
 * server (`/api/neurstore/plain/{path}`), on loopback, C concurrent clients (default 8), each file fetched
 * R rounds (default 10) per contender; every response's sha256 is checked against the original. Prints
 * requests/s, MB/s, p50/p99 latency per file and contender; --json for machine-readable output.
 * Flags: --clients C, --rounds R, --mode lossless|default (how the models are stored), --json.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
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

ensureFixtures();
const FILES: Record<string, string> = {
  'model.safetensors': join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors'),
  'onnx/model.onnx': fixturePath('vad-web', 'silero_vad_v5.onnx'),
  'tfjs/faceres.json': fixturePath('human-models', 'faceres.json'),
  'tfjs/faceres.bin': fixturePath('human-models', 'faceres.bin'),
};

interface Row { file: string; contender: 'hub' | 'plain'; requests: number; bytes: number; seconds: number; p50ms: number; p99ms: number; bad: number }

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

async function main(): Promise<void> {
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
    for (const path of Object.keys(FILES)) {
      const expected = (await reg.file(await reg.resolve('bench/models'), path)).sha256; // the bytes served (the original's in lossless mode)
      const original = createHash('sha256').update(readFileSync(FILES[path]!)).digest('hex');
      const hub = await measure((f) => `${base}/bench/models/resolve/main/${f}`, path, 'hub', expected);
      const flat = await measure((f) => `${base}/api/neurstore/plain/${f}`, path, 'plain', original);
      rows.push(hub, flat);
    }
    await app.close();
    await reg.close();
    const header = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, clients: CLIENTS, rounds: ROUNDS, mode: MODE };
    if (JSON_OUT) {
      console.log(JSON.stringify({ ...header, rows }, null, 2));
      return;
    }
    console.log(`node ${header.node}, ${header.cpu}, ${header.cores} cores; ${CLIENTS} concurrent clients, ${ROUNDS} rounds each; models stored ${MODE}`);
    const mbs = (r: Row) => r.bytes / r.seconds / 1e6;
    console.log(table(['FILE', 'SERVED', 'SIZE', 'REQ/S', 'MB/S', 'P50 MS', 'P99 MS', 'BAD', 'HUB/PLAIN MB/S'], rows.map((r, i) => [
      r.file, r.contender, formatBytes(r.bytes / r.requests), (r.requests / r.seconds).toFixed(1), mbs(r).toFixed(1), r.p50ms.toFixed(1), r.p99ms.toFixed(1), r.bad,
      r.contender === 'hub' ? `${(mbs(r) / mbs(rows[i + 1]!)).toFixed(2)}x` : '',
    ])));
    if (rows.some((r) => r.bad > 0)) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
