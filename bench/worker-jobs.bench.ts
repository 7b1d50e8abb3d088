/**
 * `tsx bench/worker-jobs.bench.ts`: what the worker side of a large put or get costs, per 8 MiB chunk of the
 * generated bf16 LLM (.cache/scale/llm-1024m.safetensors and its -ft fine-tune, made by bench:scale). Each job
 * type runs on the real pools (2 workers) in a process of its own (worker-jobs-child.mjs: plain node over a
 * tree's dist/, as users run it), 4 jobs in flight, chunks read from the files as they are posted. It prints
 * CPU ms per chunk (process.resourceUsage, user + system, less the main thread's own CPU time read from Linux
 * schedstat: what is left is the workers and the helper threads V8 runs for them; pool start-up and one
 * warm-up job per worker excluded) and the process's peak RSS. CPU time, not wall time: the machine may be
 * shared. Job types: lossless encode alone and XOR against the base chunk, group-delta (default mode,
 * tolerance 1e-3) encode against the base; their decodes (owned results, as chunked-tensors posts them); and
 * the lossless XOR and group-delta decodes into recycled output buffers (`into`; a tree without that option
 * copies the buffer in). Every encoded body is compared with the one the 'after' tree's codec makes inline
 * (so two trees must store the same bytes), every decode with the original chunk (lossless) or that inline
 * decode (reference bodies cached in /tmp/neurstore-worker-jobs).
 * Flags: --before DIR and --after DIR (checkouts to compare side by side, e.g. `git worktree`s of two commits,
 * each built with `npx tsc -p tsconfig.json`; --after defaults to this checkout), --chunks N (default 24),
 * --reps N (runs of each job type and tree, alternating; median shown; default 3), --only SUBSTRING (job
 * types), --json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CHUNK = 8 << 20;
const CHUNKS = Number(arg('chunks') ?? 24);
const REPS = Math.max(1, Number(arg('reps') ?? 3));
const CACHE = '/tmp/neurstore-worker-jobs';
const MODEL = join(ROOT, '.cache/scale/llm-1024m.safetensors');
const FT = MODEL.replace('.safetensors', '-ft.safetensors');
const TOL = 1e-3;
const PREFIX = 3;

const JOBS = ['enc-lossless', 'enc-lossless-xor', 'enc-group-base', 'dec-lossless', 'dec-lossless-xor', 'dec-group-base', 'dec-lossless-xor-into', 'dec-group-base-into'] as const;
type JobType = (typeof JOBS)[number];

const bodyFile = (kind: string, i: number): string => join(CACHE, `${kind}-${CHUNKS}-${i}.bin`);

/** Runs worker-jobs-child.mjs on `tree` for job type `type` (or `prepare`); returns what it prints. */
function child(tree: string, type: string): string {
  const args = [tree, type, CHUNKS, CACHE, MODEL, FT, TOL, PREFIX, CHUNK].map(String);
  return execFileSync(process.execPath, [fileURLToPath(new URL('./worker-jobs-child.mjs', import.meta.url)), ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
}

interface Row { type: JobType; tree: string; cpuMsPerChunk: number; peakRssMiB: number; startRssMiB: number; bad: number }

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const log = (s: string): void => {
    if (!json) console.error(s);
  };
  if (!existsSync(FT)) throw new Error(`${FT} missing: generate it as bench/scale/llm-files.ts does (bench:scale)`);
  const before = arg('before');
  const trees: Array<[string, string]> = [...(before ? [['before', resolve(before)] as [string, string]] : []), ['after', resolve(arg('after') ?? ROOT)]];
  for (const [, tree] of trees) {
    if (!existsSync(join(tree, 'dist/runtime/decode-pool.js'))) throw new Error(`${tree}/dist missing: run \`npx tsc -p tsconfig.json\` there`);
  }
  // The reference bodies, coded inline by the 'after' tree, once.
  if (!existsSync(bodyFile('group-decoded', CHUNKS - 1))) child(trees.at(-1)![1], 'prepare');
  const only = arg('only');
  const rows: Row[] = [];
  for (const type of JOBS.filter((t) => !only || t.includes(only))) {
    const runs = new Map<string, Array<{ cpuMsPerChunk: number; peakRssMiB: number; startRssMiB: number; bad: number }>>();
    for (let rep = 0; rep < REPS; rep++) {
      for (const [label, tree] of trees) {
        
        const r = JSON.parse(child(tree, type));
        (runs.get(label) ?? runs.set(label, []).get(label)!).push(r);
        log(`  ${type} ${label} rep ${rep + 1}: ${r.cpuMsPerChunk.toFixed(1)} CPU ms/chunk (+${r.mainMsPerChunk.toFixed(1)} main thread), RSS ${r.startRssMiB.toFixed(0)} at start, peak ${r.peakRssMiB.toFixed(0)} MiB${r.bad ? `, ${r.bad} WRONG` : ''}`);
      }
    }
    for (const [label, rs] of runs) {
      rows.push({
        type, tree: label, cpuMsPerChunk: median(rs.map((r) => r.cpuMsPerChunk)), peakRssMiB: median(rs.map((r) => r.peakRssMiB)),
        startRssMiB: median(rs.map((r) => r.startRssMiB)), bad: rs.reduce((s, r) => s + r.bad, 0),
      });
    }
  }
  const header = { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, chunks: CHUNKS, chunkMiB: CHUNK / 2 ** 20, workers: 2, reps: REPS };
  if (json) {
    console.log(JSON.stringify({ header, rows }, null, 2));
    return;
  }
  console.log(`bench:worker-jobs  node ${header.node}  CPU ${header.cpu}, ${header.cores} cores  (${CHUNKS} chunks of 8 MiB, 2 workers, CPU ms per chunk of every thread but the main one, median of ${REPS})`);
  const pad = (s: string, n: number): string => s.padEnd(n);
  console.log(`${pad('job', 24)}${trees.map(([l]) => `${pad(`${l} CPU ms`, 16)}${pad(`${l} peak RSS`, 18)}`).join('')}correct`);
  for (const type of new Set(rows.map((r) => r.type))) {
    const cells = trees.map(([l]) => {
      const r = rows.find((x) => x.type === type && x.tree === l);
      return r ? `${pad(r.cpuMsPerChunk.toFixed(1), 16)}${pad(`${r.peakRssMiB.toFixed(0)} MiB`, 18)}` : pad('-', 34);
    });
    const wrong = rows.filter((r) => r.type === type).reduce((s, r) => s + r.bad, 0);
    console.log(`${pad(type, 24)}${cells.join('')}${wrong ? `${wrong} WRONG` : 'yes'}`);
  }
}

await main();
