/**
 * `npm run bench:load`: compression-aware loading, all in one run, every row measured against a baseline
 * measured in the same run (issue #6 item 5):
 *   1. reading the original file and building a usable model (typed arrays of every tensor of a .safetensors
 *      file; an onnxruntime-node session from an .onnx file's bytes) vs each load mode from the store
 *      (`store.load` / `store.onnxSession`), the models put in `default` (tolerance 1e-3) and `lossless` mode;
 *      stores opened with the shared-base cache off so every run decodes everything;
 *   2. loading 10 fine-tunes of one real base (synthetic deltas: base + seeded noise) one after another as
 *      fp32, without and with the shared-base cache, vs reading the 10 original files;
 *   3. batched inference of the MNIST family by direct computation on base + delta vs decode-then-run vs
 *      float32 weights (bench/load-family.ts);
 *   4. bytes the process read through read syscalls (/proc/self/io rchar, all threads) in each measured run.
 * Page cache warm for every contender; times are the best of up to --runs (default 5: the box is a shared,
 * loaded 2-core machine), at least 2 per row (the first of a freshly opened store starts its decode workers),
 * fewer than --runs once a row has spent 3 s.
 * Flags: --runs N, --noise R (fine-tune noise as a fraction of each tensor's std, default 0.02),
 * --ft-base mnist-base|big (base of the fine-tunes, default mnist-base; big = the --model one, slow),
 * --model STEM (human-models TF.js model converted to safetensors for the larger rows, default faceres-deep),
 * --only 1a,1b,2,3 (run only these sections).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { NeurStore, type OpenOptions } from '../src/store/neur-store.js';
import { DEFAULT_TOLERANCE } from '../src/store/store-types.js';
import { LOAD_MODES, type LoadMode } from '../src/runtime/load-forms.js';
import { BASE_CACHE_BYTES } from '../src/runtime/base-cache.js';
import { kernelsBackend } from '../src/kernels/kernels.js';
import { formatBytes, table } from '../src/cli/format-output.js';
import { ensureFixtures, fixturePath } from '../scripts/fetch-fixtures.js';
import { ensureMnistFamily } from '../scripts/mnist-family.js';
import { best, HAS_PROC_IO, readSafetensorsArrays, writeFineTunes, type Measured } from './load-sets.js';
import { familySection } from './load-family.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Number(arg('runs') ?? 5);
const NOISE = Number(arg('noise') ?? 0.02);
const BIG = arg('model') ?? 'faceres-deep';
/** Base of the synthetic fine-tunes: 'mnist-base' (default: fast) or the --model one ('big'). */
const FT_BASE = arg('ft-base') ?? 'mnist-base';
const ONLY = arg('only');
const FINE_TUNES = 10;
const PUT_MODES = ['default', 'lossless'] as const;
const SILERO = [['silero-v4', 'silero_vad_legacy.onnx'], ['silero-v5', 'silero_vad_v5.onnx'], ['silero-v6', 'silero_vad_v6.onnx']] as const;
const ONNX_MODES: LoadMode[] = ['exact', 'int8', 'int8+delta'];

const read = (m: Measured): string => (HAS_PROC_IO ? formatBytes(m.bytes) : '-');
const ratio = (m: Measured, base: Measured): string => `${(m.seconds / base.seconds).toFixed(2)}x`;
const secs = (m: Measured): string => m.seconds.toFixed(4);
const runs = (m: Measured): string => String(m.runs);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const log = (s: string): void => void process.stderr.write(`${s}\n`);

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

/** Runs f on a store opened with `options`, closing it afterwards. */
async function withStore<T>(dir: string, options: OpenOptions, f: (s: NeurStore) => Promise<T>): Promise<T> {
  const store = await NeurStore.open(dir, options);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** The larger real model as a .safetensors file: its TF.js files put losslessly, then exported. */
async function bigSafetensors(dir: string): Promise<string> {
  const store = await NeurStore.init(join(dir, 'convert'));
  await store.put(fixturePath('human-models', `${BIG}.json`), { name: BIG, mode: 'lossless' });
  const [out] = await store.get(BIG, join(dir, `${BIG}.safetensors`), { format: 'safetensors' });
  await store.close();
  return out!;
}

async function section1(dir: string, files: Record<string, string>): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  const noCache: OpenOptions = { baseCacheBytes: 0 };
  for (const [name, path] of Object.entries(files)) {
    readFileSync(path);
    const base = await best(RUNS, () => readSafetensorsArrays(path));
    rows.push([name, `original ${formatBytes(statSync(path).size)} .safetensors: read + typed arrays`, runs(base), secs(base), '1.00x', read(base), '']);
    for (const put of PUT_MODES) {
      for (const mode of LOAD_MODES) {
        const m = await withStore(join(dir, put), noCache, (s) => best(RUNS, () => drain(s.load(name, { mode }))));
        const target = mode === 'exact' || mode === 'fp32' ? `<= 1.50x: ${verdict(m.seconds <= 1.5 * base.seconds)}` : '';
        rows.push([name, `store ${put}, load ${mode}`, runs(m), secs(m), ratio(m, base), read(m), target]);
      }
    }
    for (const mode of ['fp32', 'int8+delta'] as const) {
      const m = await withStore(join(dir, 'default'), { ...noCache, decodeWorkers: 0 }, (s) => best(RUNS, () => drain(s.load(name, { mode }))));
      rows.push([name, `store default, load ${mode}, decodeWorkers 0`, runs(m), secs(m), ratio(m, base), read(m), '']);
    }
  }
  console.log(`\n1a. safetensors: original file vs store.load (fp32 = Float32Array per tensor), best of up to ${RUNS}, shared-base cache off`);
  console.log(table(['MODEL', 'LOADED AS', 'RUNS', 'SECONDS', 'VS ORIGINAL', 'READ', 'TARGET'], rows));
}

async function section1Onnx(dir: string): Promise<void> {
  const rows: Array<Array<string | number>> = [];
  const noCache: OpenOptions = { baseCacheBytes: 0 };
  for (const [name, file] of SILERO) {
    const path = fixturePath('vad-web', file);
    readFileSync(path);
    const base = await best(RUNS, async () => (await ort.InferenceSession.create(readFileSync(path))).release());
    rows.push([name, `original ${formatBytes(statSync(path).size)} .onnx: read + InferenceSession.create`, runs(base), secs(base), '1.00x', read(base), '']);
    for (const put of PUT_MODES) {
      for (const mode of ONNX_MODES) {
        const m = await withStore(join(dir, put), noCache, (s) => best(RUNS, async () => (await s.onnxSession(name, { mode })).release()));
        const target = mode === 'int8+delta' ? `<= 1.00x: ${verdict(m.seconds <= base.seconds)}` : mode === 'exact' ? `<= 1.50x: ${verdict(m.seconds <= 1.5 * base.seconds)}` : '';
        rows.push([name, `store ${put}, onnxSession ${mode}`, runs(m), secs(m), ratio(m, base), read(m), target]);
      }
    }
  }
  console.log(`\n1b. ONNX: original file vs store.onnxSession (session created and released), best of up to ${RUNS}, shared-base cache off`);
  console.log(table(['MODEL', 'LOADED AS', 'RUNS', 'SECONDS', 'VS ORIGINAL', 'READ', 'TARGET'], rows));
}

async function section2(dir: string, files: Record<string, string>): Promise<void> {
  const baseName = FT_BASE === 'big' ? BIG : 'mnist-base';
  const basePath = files[baseName]!;
  const ftDir = join(dir, 'finetunes');
  rmSync(ftDir, { recursive: true, force: true });
  mkdirSync(ftDir);
  log(`writing ${FINE_TUNES} synthetic fine-tunes of ${baseName} and putting them (default mode)...`);
  const paths = await writeFineTunes(basePath, ftDir, FINE_TUNES, NOISE);
  const storeDir = join(dir, 'family');
  const store = await NeurStore.init(storeDir);
  await store.put(basePath, { name: 'base', mode: 'default', tolerance: DEFAULT_TOLERANCE });
  for (const [i, p] of paths.entries()) await store.put(p, { name: `ft${i}`, mode: 'default', tolerance: DEFAULT_TOLERANCE });
  const storedBytes = (await store.stats()).bytesOnDisk;
  await store.close();
  const names = paths.map((_, i) => `ft${i}`);
  const loadAll = async (s: NeurStore, mode: LoadMode = 'fp32'): Promise<void> => {
    for (const n of names) await drain(s.load(n, { mode }));
  };
  for (const p of paths) readFileSync(p);
  const base = await best(RUNS, () => paths.forEach((p) => readSafetensorsArrays(p)));
  const total = paths.reduce((n, p) => n + statSync(p).size, 0);
  const rows: Array<Array<string | number>> = [[`${FINE_TUNES} original .safetensors files (${formatBytes(total)}): read + typed arrays`, '-', runs(base), secs(base), (base.seconds / FINE_TUNES).toFixed(4), '1.00x', read(base), '']];
  const speedup = (m: Measured): string => `${(base.seconds / m.seconds).toFixed(2)}x`;
  // One fresh store per run, so no run profits from what an earlier run cached; an untimed load of the base
  // first starts the decode workers (and, with the cache on, fills it with the base's tensors).
  const measure = async (options: OpenOptions, mode: LoadMode): Promise<{ m: Measured; hits: number; misses: number }> => {
    let m: Measured = { seconds: Infinity, bytes: 0, runs: 0 };
    let stats = { hits: 0, misses: 0 };
    let spent = 0;
    for (let r = 0; r < RUNS && (r < 2 || spent < 3 * FINE_TUNES); r++) {
      await withStore(storeDir, options, async (s) => {
        await drain(s.load('base', { mode }));
        const before = s.cacheStats();
        const one = await best(1, () => loadAll(s, mode), 1);
        const after = s.cacheStats();
        spent += one.seconds;
        if (one.seconds < m.seconds) [m, stats] = [one, { hits: after.hits - before.hits, misses: after.misses - before.misses }];
      });
      m.runs = r + 1;
    }
    return { m, ...stats };
  };
  const cases: Array<[string, OpenOptions, LoadMode, boolean]> = [
    ['store fp32, no shared-base cache (baseCacheBytes 0)', { baseCacheBytes: 0 }, 'fp32', false],
    [`store fp32, shared-base cache (${formatBytes(BASE_CACHE_BYTES)}), base loaded first`, {}, 'fp32', true],
    ['store fp32, shared-base cache, base loaded first, decodeWorkers 0', { decodeWorkers: 0 }, 'fp32', false],
    ['store int8+delta, no shared-base cache', { baseCacheBytes: 0 }, 'int8+delta', false],
    ['store int8+delta, shared-base cache, base loaded first', {}, 'int8+delta', false],
  ];
  for (const [label, options, mode, isTarget] of cases) {
    const { m, hits, misses } = await measure(options, mode);
    const target = isTarget ? `>= 3.00x: ${verdict(base.seconds >= 3 * m.seconds)}` : '';
    rows.push([label, `${hits}/${misses}`, runs(m), secs(m), (m.seconds / FINE_TUNES).toFixed(4), speedup(m), read(m), target]);
  }
  console.log(`\n2. ${FINE_TUNES} fine-tunes of ${baseName} loaded one after another. SYNTHETIC deltas: base + N(0, (${NOISE}·std)²) per`);
  console.log(`   F32 tensor, seeds 1000..${999 + FINE_TUNES}; base + ${FINE_TUNES} put in default mode (tol ${DEFAULT_TOLERANCE}), store ${formatBytes(storedBytes)} on disk.`);
  console.log(`   Best of up to ${RUNS}, each run on a freshly opened store; SPEEDUP = original time / store time (target row: cache on).`);
  console.log(table(['LOADED AS', 'CACHE HITS/MISSES', 'RUNS', 'SECONDS', 'PER MODEL', 'SPEEDUP', 'READ', 'TARGET'], rows));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  ensureFixtures(log);
  const family = await ensureMnistFamily(log);
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-load-'));
  try {
    log(`converting ${BIG} to safetensors and putting the models (default, lossless)...`);
    const files: Record<string, string> = { 'mnist-base': family[0]!, [BIG]: await bigSafetensors(dir) };
    for (const put of PUT_MODES) {
      const store = await NeurStore.init(join(dir, put));
      const opts = { mode: put, ...(put === 'default' ? { tolerance: DEFAULT_TOLERANCE } : {}) };
      for (const [name, path] of Object.entries(files)) await store.put(path, { name, ...opts });
      for (const [name, file] of SILERO) await store.put(fixturePath('vad-web', file), { name, ...opts });
      await store.close();
    }
    log(`(setup: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    const k = kernelsBackend();
    const workers = Math.min(availableParallelism(), 4);
    console.log(`bench:load  kernels: ${k.backend} (${k.reason}); decode workers: ${workers} (default: cores up to 4; ${availableParallelism()} cores)`);
    console.log(`best of up to ${RUNS} per row (at least 2; fewer than ${RUNS} once a row has spent 3 s), page cache warm for every contender; READ = bytes through read syscalls in the best run` +
      (HAS_PROC_IO ? ' (/proc/self/io rchar)' : ' (unavailable: no /proc/self/io)'));
    console.log('VS ORIGINAL = store time / original-file time (below 1: faster than the original file)');
    const sections: Array<[string, () => Promise<void>]> = [
      ['1a', () => section1(dir, files)], ['1b', () => section1Onnx(dir)], ['2', () => section2(dir, files)],
      ['3', () => familySection(dir, family, RUNS)],
    ];
    for (const [id, run] of sections) {
      if (ONLY && !ONLY.split(',').includes(id)) continue;
      const t = Date.now();
      await run();
      log(`(section ${id}: ${((Date.now() - t) / 1000).toFixed(0)} s)`);
    }
    console.log(`\ntotal bench time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
