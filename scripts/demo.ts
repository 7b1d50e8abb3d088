/**
 * The main job on the embedded default backend: stores the real models of the fixtures (MNIST checkpoints,
 * TF.js models of human-models and face-api, Silero VAD ONNX) in a fresh store (lossless mode), gets every one
 * back and checks it byte for byte against its original, and prints what the store holds; then stores the same
 * models in the error-bounded `default` mode and prints ratio and max error, and ends with three commands to
 * try next on that store (`demo.test.ts` runs them as printed). Run with `npm run demo`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NeurStore } from '../src/store/neur-store.js';
import { DEFAULT_TOLERANCE } from '../src/store/store-types.js';
import { formatBytes, table } from '../src/cli/format-output.js';
import { FIXTURES_DIR, PROJECT_ROOT, SHARED_MNIST_DIR, ensureFixtures } from './fetch-fixtures.js';

export const MODELS: Array<[name: string, path: string]> = [
  ['mnist-4bc2046', join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors')],
  ['mnist-4fe0665', join(SHARED_MNIST_DIR, 'model_4fe0665.safetensors')],
  ['mnist-6682ba5', join(SHARED_MNIST_DIR, 'model_6682ba5.safetensors')],
  ...['faceres', 'faceres-deep', 'blazeface', 'blazeface-back', 'facemesh-attention', 'facemesh-attention-pinto', 'emotion']
    .map((m): [string, string] => [m, join(FIXTURES_DIR, 'human-models', `${m}.json`)]),
  ...['face_landmark_68_model', 'face_expression_model']
    .map((m): [string, string] => [`face-api/${m}`, join(FIXTURES_DIR, 'face-api', `${m}-weights_manifest.json`)]),
  ...['silero_vad_legacy', 'silero_vad_v5', 'silero_vad_v6'].map((m): [string, string] => [m, join(FIXTURES_DIR, 'vad-web', `${m}.onnx`)]),
];

async function main(): Promise<void> {
  ensureFixtures((s) => console.log(s));
  const dir = join(PROJECT_ROOT, '.cache', 'demo-store');
  const outDir = join(PROJECT_ROOT, '.cache', 'demo-out');
  rmSync(dir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
  const store = await NeurStore.init(dir);
  const rows: Array<Array<string | number>> = [];
  for (const [name, path] of MODELS) {
    const m = await store.put(path, { name, tags: { source: basename(path) } });
    const written = await store.get(name, join(outDir, name.replace('/', '_'), basename(path)));
    const exact = written.every((f) => readFileSync(f).equals(readFileSync(join(path, '..', basename(f)))));
    if (!exact) throw new Error(`${name} did not come back byte-identical`);
    rows.push([name, m.format, m.tensorCount, formatBytes(m.bytesIn), formatBytes(m.storedBytes), 'yes']);
  }
  console.log(table(['MODEL', 'FORMAT', 'TENSORS', 'SIZE', 'NEW ON DISK', 'BYTE-EXACT'], rows));
  await store.close(); // folds the catalog's write-ahead log in, so the figures below are what stays on disk
  const reopened = await NeurStore.open(dir);
  const s = await reopened.stats();
  console.log(`\n${s.models} models, ${s.tensors} tensors, ${s.dedupHits} exact-dedup hits`);
  console.log(`${formatBytes(s.bytesIn)} in -> ${formatBytes(s.bytesOnDisk)} on disk (segments ${formatBytes(s.segmentBytes)}, catalog ${formatBytes(s.catalogBytes)}): ${s.ratio.toFixed(2)}x`);
  console.log(`store: ${dir}`);
  await reopened.close();
  const lossy = join(PROJECT_ROOT, '.cache', 'demo-store-default');
  await lossyDemo(lossy);
  console.log(`\n${nextSteps(lossy, process.env.INIT_CWD ?? process.cwd()).join('\n')}`);
}

/** The same models in the default mode: fine-tunes become deltas of their base within the tolerance. */
async function lossyDemo(dir: string): Promise<void> {
  const { maxError } = await putDefaultMode(dir, MODELS);
  const s = await (await NeurStore.open(dir)).stats();
  console.log(`\ndefault mode (tolerance ${DEFAULT_TOLERANCE}, every element within it; max error ${maxError.toExponential(2)}):`);
  console.log(`${formatBytes(s.bytesIn)} in -> ${formatBytes(s.bytesOnDisk)} on disk: ${s.ratio.toFixed(2)}x`);
}

/** A fresh store at `dir` holding `models` put in the default mode (in order: a base before its fine-tunes). */
export async function putDefaultMode(dir: string, models: ReadonlyArray<[name: string, path: string]>): Promise<{ maxError: number }> {
  rmSync(dir, { recursive: true, force: true });
  const store = await NeurStore.init(dir);
  let maxError = 0;
  for (const [name, path] of models) maxError = Math.max(maxError, (await store.put(path, { name, mode: 'default' })).maxError);
  await store.close();
  return { maxError };
}

/** The fine-tune the next steps look at: in the default mode most of its tensors are deltas of `faceres`'s. */
export const FINE_TUNE = 'faceres-deep';

/**
 * Three commands to try on the default-mode demo store at `store`, as a user in `cwd` would paste them: the
 * fine-tune's tensors and their bases, its load in int8+delta checked against the exact tensors, the store's
 * totals. Paths are relative to `cwd` when inside it.
 */
export function nextSteps(store: string, cwd: string): string[] {
  const bin = shown(join(PROJECT_ROOT, 'bin', 'neurstore.js'), cwd, true);
  const cli = `${bin} --store ${shown(store, cwd)}`;
  return [
    'Try next, on the default-mode store (paste a line):',
    `  # how ${FINE_TUNE} is stored: most of its tensors are deltas of faceres's (BASE column), a few bits each`,
    `  ${cli} info ${FINE_TUNE}`,
    '  # load it as 8-bit bases plus residuals and check every tensor against the exact values (within 1e-3)',
    `  ${cli} load ${FINE_TUNE} --mode int8+delta --check`,
    '  # the whole store: bytes in, bytes on disk, ratio, exact-dedup hits',
    `  ${cli} stats`,
    `More: ${shown(join(PROJECT_ROOT, 'docs', 'getting-started.md'), cwd)} walks through put, info, get, load and sweep; ` +
      `\`${bin} help COMMAND\` explains any command.`,
  ];
}

/** `path` relative to `cwd` when inside it (`./x` for a command), else absolute; shell-quoted when needed. */
function shown(path: string, cwd: string, command = false): string {
  const rel = relative(resolve(cwd), path);
  let p = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  if (command && !isAbsolute(p)) p = `./${p}`;
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(`demo failed: ${(e as Error).message}`);
    process.exit(1);
  });
}
