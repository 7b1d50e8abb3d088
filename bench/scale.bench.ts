/**
 * bench:scale: a generated bf16 LLM (and a fine-tune of it) through NeurStore, against zstd -3 / zstd -d (the
 * CLI, one thread), the ZipNN method (byte-grouped zstd -3, one thread) and cp, measured side by side in one run.
 * Every operation runs in a child process of its own (plain node over the compiled package, built first), so its
 * peak RSS is its own.
 *
 *   npm run bench:scale -- [--size 1g|4g|256m] [--repeat N] [--json] [--skip-lossy]
 *
 * `--repeat N` runs the whole sequence N times (interleaved, so a slow phase of the machine hits every row
 * alike) and reports, per row, the run of median time with the range of times; peak RSS is the largest seen.
 * It also reports the lossless fine-tune put's time over the base's, run by run (issue #12's target).
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { llmFiles } from './scale/llm-files.js';

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const JSON_OUT = argv.includes('--json');
const SKIP_LOSSY = argv.includes('--skip-lossy');
const REPEAT = Math.max(1, Number(flag('--repeat') ?? 1));
const SIZE = parseSize(flag('--size') ?? '1g');

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([mg])$/i.exec(s);
  if (!m) throw new Error(`--size takes e.g. 256m, 1g, 4g; got ${s}`);
  return Number(m[1]) * (m[2]!.toLowerCase() === 'g' ? 2 ** 30 : 2 ** 20);
}

interface Row {
  readonly operation: string;
  readonly seconds: number;
  readonly mbPerS: number;
  readonly peakRssMiB: number | null;
  /** CPU seconds of all the process's threads (user + system), where measured. */
  readonly cpuSeconds?: number;
  readonly storedBytes?: number;
  readonly note?: string;
  /** Fastest and slowest time over the runs (--repeat). */
  readonly secondsRange?: readonly [number, number];
}

let rows: Row[] = [];
mkdirSync(join('.cache', 'scale'), { recursive: true });

// The children run the compiled package (dist/) under plain node, as users run it: build it first.
const built = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (built.status !== 0) throw new Error(`tsc failed: ${built.stdout}${built.stderr}`);

const REPORTED = '/sys/module/page_reporting/parameters/reported_kib';

/**
 * Brings the machine to the same state before each timed step. `sync` writes back the page cache's dirty pages:
 * without it a step paid for the writeback of the one before (a 1 GB get ran 1.75 s after a sync, 2.4-3.8 s
 * right after another step's 1 GB of writes). On a VM that reports free memory to its host (virtio-balloon free
 * page reporting, this dev VM), memory freed in the last seconds is still the guest's, while reported memory
 * faults in again through the host: writing 1 GB of new file took 0.2 s right after deleting another 1 GB file,
 * 1.1-2.1 s a few seconds later. So the step waits until reporting has been quiet for 3 s: no step runs while the
 * guest hands back what the step before it freed. Memory that is never reported (it stays cheap) still makes a
 * step's writes cost more or less from run to run: hence --repeat.
 */
function settle(): void {
  spawnSync('sync');
  if (!existsSync(REPORTED)) return;
  let last = readFileSync(REPORTED, 'utf8');
  for (let quiet = 0, tries = 0; quiet < 6 && tries < 60; tries++) {
    spawnSync('sleep', ['0.5']);
    const now = readFileSync(REPORTED, 'utf8');
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

function child(args: string[]): { seconds: number; maxRssBytes: number; [k: string]: unknown } {
  settle();
  const r = spawnSync(process.execPath, ['bench/scale/scale-child.mjs', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** A command's wall time and peak RSS (GNU time's %M). */
function command(cmd: string, args: string[]): { seconds: number; rss: number | null; cpuSeconds: number } {
  settle();
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const [kb, user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
  return { seconds, rss: Number.isFinite(kb) ? kb * 1024 : null, cpuSeconds: user + sys };
}

/** Bytes of a safetensors file before its tensor data (8-byte length + JSON header). */
function headerBytes(file: string): number {
  const fd = openSync(file, 'r');
  const b = Buffer.alloc(8);
  readSync(fd, b, 0, 8, 0);
  closeSync(fd);
  return 8 + Number(b.readBigUInt64LE());
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.name !== 'RESERVE') n += statSync(p).size;
  }
  return n;
}

const mib = (b: number | null): number | null => (b === null ? null : Math.round(b / 2 ** 20));
const add = (operation: string, bytes: number, seconds: number, rss: number | null, extra: Partial<Row> = {}): void => {
  const cpu = extra.cpuSeconds === undefined ? {} : { cpuSeconds: Number(extra.cpuSeconds.toFixed(2)) };
  rows.push({ operation, seconds: Number(seconds.toFixed(2)), mbPerS: Math.round(bytes / 1e6 / seconds), peakRssMiB: mib(rss), ...extra, ...cpu });
};

const t0 = performance.now();
const { base, tuned } = llmFiles(SIZE);
const genSeconds = (performance.now() - t0) / 1000;
const size = statSync(base).size;

/** One run of every step, in a work directory of its own: its rows (pushed to `rows`) and what was stored. */
function runOnce() {
  const work = mkdtempSync(join('.cache', 'scale', 'run-'));
  // NeurStore, lossless: base, then the fine-tune into the same store.
  const store = join(work, 'lossless');
  const putBase = child(['put', store, base, 'base', 'lossless']);
  add('put lossless, base', size, putBase.seconds, putBase.maxRssBytes, { cpuSeconds: Number(putBase.cpuSeconds), storedBytes: Number(putBase.storedBytes) });
  const putTuned = child(['put', store, tuned, 'tuned', 'lossless']);
  add('put lossless, fine-tune', size, putTuned.seconds, putTuned.maxRssBytes, { cpuSeconds: Number(putTuned.cpuSeconds), storedBytes: Number(putTuned.storedBytes) });
  const bothLossless = dirBytes(store);
  for (const name of ['base', 'tuned']) {
    const out = join(work, `${name}.out.safetensors`);
    const g = child(['get', store, name, out]);
    add(`get ${name === 'base' ? 'base' : 'fine-tune'}`, size, g.seconds, g.maxRssBytes, { cpuSeconds: Number(g.cpuSeconds) });
    rmSync(out);
  }
  const l = child(['load', store, 'tuned']);
  if (l.bytes !== size - headerBytes(tuned)) throw new Error(`load gave ${String(l.bytes)} tensor bytes, the file holds ${size - headerBytes(tuned)}`);
  add('load fine-tune (mode exact, tensor by tensor)', Number(l.bytes), l.seconds, l.maxRssBytes, { cpuSeconds: Number(l.cpuSeconds) });
  const v = child(['verify', store]);
  add('verify (both models, SHA-256 of every tensor)', 2 * size, v.seconds, v.maxRssBytes, { cpuSeconds: Number(v.cpuSeconds), note: v.ok ? 'ok' : 'DAMAGE' });
  // The fine-tune again under another name (after verify, which would check it too): every chunk is found stored
  // (its record CRC-checked), nothing is written.
  const putAgain = child(['put', store, tuned, 'tuned-again', 'lossless']);
  add('put lossless, fine-tune again (every chunk stored)', size, putAgain.seconds, putAgain.maxRssBytes, { cpuSeconds: Number(putAgain.cpuSeconds), storedBytes: Number(putAgain.storedBytes) });

  // NeurStore, default mode at 1e-3 (large float tensors streamed as group-quantized chunks on the encode workers).
  let bothLossy: number | null = null;
  if (!SKIP_LOSSY) {
    const lossy = join(work, 'lossy');
    const b = child(['put', lossy, base, 'base', 'default']);
    add('put default 1e-3, base', size, b.seconds, b.maxRssBytes, { cpuSeconds: Number(b.cpuSeconds), storedBytes: Number(b.storedBytes) });
    const t = child(['put', lossy, tuned, 'tuned', 'default']);
    add('put default 1e-3, fine-tune', size, t.seconds, t.maxRssBytes, { cpuSeconds: Number(t.cpuSeconds), storedBytes: Number(t.storedBytes), note: `max error ${Number(t.maxError).toExponential(2)}` });
    bothLossy = dirBytes(lossy);
  }

  // The others, same files, same run.
  const z = join(work, 'base.zst');
  const zc = command('zstd', ['-3', '-T1', '-q', '-f', base, '-o', z]);
  add('zstd -3 (CLI, 1 thread), base', size, zc.seconds, zc.rss, { cpuSeconds: Number(zc.cpuSeconds), storedBytes: statSync(z).size });
  const zd = command('zstd', ['-d', '-q', '-f', z, '-o', join(work, 'base.unz')]);
  add('zstd -d, base', size, zd.seconds, zd.rss, { cpuSeconds: Number(zd.cpuSeconds) });
  rmSync(join(work, 'base.unz'));
  const zipnn = child(['zipnn', base, join(work, 'base.zipnn')]);
  add('ZipNN method (byte planes + zstd -3, 1 thread), base', size, zipnn.seconds, zipnn.maxRssBytes, { cpuSeconds: Number(zipnn.cpuSeconds), storedBytes: statSync(join(work, 'base.zipnn')).size });
  const zt = join(work, 'tuned.zst');
  command('zstd', ['-3', '-T1', '-q', '-f', tuned, '-o', zt]);
  const cp = command('cp', [base, join(work, 'base.copy')]);
  add('cp, base', size, cp.seconds, cp.rss, { cpuSeconds: Number(cp.cpuSeconds) });

  const stored = {
    modelBytes: size,
    generatedSeconds: Number(genSeconds.toFixed(1)),
    storedBothLossless: bothLossless,
    storedBothDefault: bothLossy,
    storedBothZstd: statSync(z).size + statSync(zt).size,
    ratioLossless: (2 * size) / bothLossless,
    ratioZstd: (2 * size) / (statSync(z).size + statSync(zt).size),
    ratioZipnnBase: size / statSync(join(work, 'base.zipnn')).size,
  };
  rmSync(work, { recursive: true, force: true });
  return stored;
}

const runs: Row[][] = [];
let summary!: ReturnType<typeof runOnce>;
for (let r = 0; r < REPEAT; r++) {
  rows = [];
  summary = runOnce();
  runs.push(rows);
}
// Per operation: the run of median time, its range, and the largest peak RSS of all runs.
rows = runs[0]!.map((_, i) => {
  const all = runs.map((rs) => rs[i]!).sort((a, b) => a.seconds - b.seconds);
  const median = all[(all.length - 1) >> 1]!;
  const rss = all.map((x) => x.peakRssMiB).filter((x): x is number => x !== null);
  return { ...median, peakRssMiB: rss.length ? Math.max(...rss) : null, ...(all.length > 1 ? { secondsRange: [all[0]!.seconds, all.at(-1)!.seconds] as const } : {}) };
});
const { storedBothLossless: bothLossless, storedBothDefault: bothLossy } = summary;
// The fine-tune put's time over the base's, run by run (the issue's target is this ratio; the two puts of one run
// see the same phase of the machine, so their ratio varies less than either time).
const secondsOf = (rs: Row[], op: string): number => rs.find((x) => x.operation === op)!.seconds;
const tuneRatios = runs.map((rs) => Number((secondsOf(rs, 'put lossless, fine-tune') / secondsOf(rs, 'put lossless, base')).toFixed(2)));
const tuneRatio = [...tuneRatios].sort((a, b) => a - b)[(tuneRatios.length - 1) >> 1]!;

const header = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadAverage: loadavg().map((x) => Number(x.toFixed(2))) };
if (JSON_OUT) {
  console.log(JSON.stringify({ ...header, repeat: REPEAT, ...summary, fineTunePutOverBase: { median: tuneRatio, runs: tuneRatios }, rows }, null, 2));
} else {
  const repeat = REPEAT > 1 ? `  ${REPEAT} runs: median (range)` : '';
  console.log(`bench:scale  node ${header.node}  ${header.cpu}  ${header.cores} cores  load average ${header.loadAverage.join(' ')}  model ${(size / 1e9).toFixed(2)} GB bf16 (+ a fine-tune)${repeat}`);
  console.log('');
  // CPU s: every thread of the process, user + system; CPU s / s is how many of the cores it kept busy.
  console.log('| operation | s | MB/s | CPU s | cores busy | peak RSS MiB | stored bytes | note |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const busy = r.cpuSeconds === undefined ? '' : (r.cpuSeconds / r.seconds).toFixed(2);
    const range = r.secondsRange ? ` (${r.secondsRange[0]}-${r.secondsRange[1]})` : '';
    console.log(`| ${r.operation} | ${r.seconds}${range} | ${r.mbPerS} | ${r.cpuSeconds ?? ''} | ${busy} | ${r.peakRssMiB ?? 'n/a'} | ${r.storedBytes ?? ''} | ${r.note ?? ''} |`);
  }
  console.log('');
  console.log(`stored, base + fine-tune: NeurStore lossless ${(bothLossless / 1e9).toFixed(3)} GB (${summary.ratioLossless.toFixed(2)}x)` +
    `${bothLossy ? `, default 1e-3 ${(bothLossy / 1e9).toFixed(3)} GB (${((2 * size) / bothLossy).toFixed(2)}x)` : ''}` +
    `, zstd -3 ${(summary.storedBothZstd / 1e9).toFixed(3)} GB (${summary.ratioZstd.toFixed(2)}x); ZipNN method on the base ${summary.ratioZipnnBase.toFixed(2)}x`);
  console.log(`lossless put, fine-tune over base, run by run: ${tuneRatios.map((x) => `${x}x`).join(', ')}${tuneRatios.length > 1 ? ` (median ${tuneRatio}x)` : ''}`);
}
