/**
 * `npm run bench:compress`: one table per model set (the MNIST family, face-api landmark_68 -> expression,
 * human-models faceres -> faceres-deep and all 41, Silero v4/v5/v6): original bytes, the baselines (zstd -3 of
 * the files, byte-grouped zstd = ZipNN, 64 KiB CDC dedup = Xet, exact tensor dedup = Ollama/ZipLLM) and the
 * store's modes (paper, default, lossless), all measured in this run. Store rows count everything on disk
 * (segments, manifest, catalog). Lossy rows show the max error, the accuracy change on the MNIST family, and
 * the output agreement of the fine-tune with its stored copy on the face-api and faceres pairs.
 * Flags: --tolerance T (default DEFAULT_TOLERANCE), --only SUBSTRING (sets whose label contains it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { NeurStore } from '../src/store/neur-store.js';
import { DEFAULT_TOLERANCE, type Mode } from '../src/store/store-types.js';
import { fixturePath } from '../scripts/fetch-fixtures.js';
import { loadMnistSplit } from '../src/store/testing/mnist-digits.js';
import { mnistAccuracy, readMnistSafetensors } from '../src/store/testing/mnist-eval.js';
import { faceExpressionAgreement, graphModelAgreement, type Agreement } from '../src/store/testing/model-agreement.js';
import { formatBytes, table } from '../src/cli/format-output.js';
import { modelSets, type ModelSet } from './model-sets.js';
import { runBaselines, type MethodRow } from './baselines/baseline-suite.js';
import { loadModelSet, originalBytes } from './baselines/loaded-set.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const TOLERANCE = Number(arg('tolerance') ?? DEFAULT_TOLERANCE);
const ONLY = arg('only');

interface StoreRow extends MethodRow {
  maxError: number;
  /** Mean and worst accuracy change in points (MNIST family only). */
  accuracy?: { mean: number; worst: number };
  /** Output agreement with the original fine-tune on seeded images (face-api and faceres pairs). */
  agreement?: Agreement;
  indexBytes: number;
}

async function storeRun(dir: string, set: ModelSet, mode: Mode): Promise<StoreRow> {
  const storeDir = join(dir, `${mode}-${set.label.replace(/\W+/g, '_')}`);
  const store = await NeurStore.init(storeDir);
  const t0 = process.hrtime.bigint();
  let maxError = 0;
  let indexBytes = 0;
  for (const m of set.models) {
    const r = await store.put(m.path, { name: m.name, mode, ...(mode === 'lossless' ? {} : { tolerance: TOLERANCE }) });
    maxError = Math.max(maxError, r.maxError);
    indexBytes = Math.max(indexBytes, r.indexMemoryBytes);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await store.close(); // folds the catalog's WAL in: what stays on disk
  const reopened = await NeurStore.open(storeDir);
  const stats = await reopened.stats();
  const row: StoreRow = { method: `neurstore ${mode}${mode === 'lossless' ? '' : ` (tol ${TOLERANCE})`}`, bytes: stats.bytesOnDisk, seconds, maxError, indexBytes };
  if (set.label.startsWith('MNIST')) row.accuracy = await accuracyChange(reopened, set, join(dir, 'acc', mode));
  if (mode !== 'lossless') row.agreement = await fineTuneAgreement(reopened, set, join(dir, 'agree', `${mode}-${set.label.replace(/\W+/g, '_')}`));
  await reopened.close();
  return row;
}

let digits: ReturnType<typeof loadMnistSplit>['test'] | undefined;

async function accuracyChange(store: NeurStore, set: ModelSet, outDir: string): Promise<{ mean: number; worst: number }> {
  digits ??= loadMnistSplit((f) => fixturePath('mnist', f)).test;
  const drops: number[] = [];
  for (const m of set.models) {
    const before = readMnistSafetensors(m.path);
    const [out] = await store.get(m.name, join(outDir, `${m.name}.safetensors`));
    const after = readMnistSafetensors(out!);
    drops.push(100 * (mnistAccuracy(after.l1, after.l2, digits) - mnistAccuracy(before.l1, before.l2, digits)));
  }
  return { mean: drops.reduce((a, b) => a + b, 0) / drops.length, worst: Math.min(...drops) };
}

/**
 * Agreement of the pair's fine-tune with its stored copy, as the accuracy tests measure it: face_expression
 * on 16 seeded 112x112 faces; faceres-deep's age head on 8 seeded 64x64 images (0-255 pixels).
 */
async function fineTuneAgreement(store: NeurStore, set: ModelSet, outDir: string): Promise<Agreement | undefined> {
  const tuned = set.models[1];
  if (!tuned || !(set.label.startsWith('face-api') || set.label.includes('faceres ->'))) return undefined;
  const [back] = await store.get(tuned.name, join(outDir, basename(tuned.path)));
  return set.label.startsWith('face-api')
    ? faceExpressionAgreement(tuned.path, back!, { count: 16, seed: 11 })
    : graphModelAgreement(tuned.path, back!, [64, 64, 3], ['age_pred/Softmax:0', 'gender_pred/Sigmoid:0'], {
      count: 8, seed: 11, relaxInputShape: true, inputRange: [0, 255],
    });
}

function printSet(label: string, original: number, rows: Array<MethodRow | StoreRow>): void {
  const mb = original / 1024 / 1024;
  const body: Array<Array<string | number>> = [['original', formatBytes(original), '1.00x', '-', '-', '-', '-']];
  for (const r of rows) {
    const s = r as StoreRow;
    const acc = s.accuracy
      ? `${s.accuracy.mean >= 0 ? '+' : ''}${s.accuracy.mean.toFixed(2)} points (worst ${s.accuracy.worst.toFixed(2)})`
      : s.agreement ? `${s.agreement.agreeing}/${s.agreement.inputs} agree (max diff ${s.agreement.maxOutputDiff.toExponential(1)})` : '-';
    body.push([
      r.method, formatBytes(r.bytes), `${(original / r.bytes).toFixed(2)}x`, (mb / r.seconds).toFixed(1),
      'maxError' in s ? (s.maxError === 0 ? 'exact' : s.maxError.toExponential(2)) : 'exact', acc,
      'indexBytes' in s ? formatBytes(s.indexBytes) : '-',
    ]);
  }
  console.log(`\n## ${label}\n`);
  console.log(table(['METHOD', 'STORED', 'RATIO', 'MB/S', 'MAX ERROR', 'ACCURACY / AGREEMENT', 'INDEX MEMORY'], body));
  const get = (prefix: string) => rows.find((r) => r.method.startsWith(prefix))!.bytes;
  const zipnn = get('byte-grouped');
  console.log(`\ntargets: default <= 2/3 paper: ${(get('neurstore default') / get('neurstore paper')).toFixed(2)} of paper; ` +
    `lossless vs ZipNN: ${(zipnn / get('neurstore lossless')).toFixed(3)}x ${get('neurstore lossless') < zipnn ? '(beats it)' : '(does not beat it)'}`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-compress-'));
  try {
    const sets = (await modelSets((s) => console.error(s))).filter((s) => !ONLY || s.label.includes(ONLY));
    console.log(`bench:compress  tolerance ${TOLERANCE} for paper and default; every store row counts all bytes on disk`);
    for (const set of sets) {
      const loaded = await loadModelSet(set);
      const rows: Array<MethodRow | StoreRow> = runBaselines(loaded);
      for (const mode of ['paper', 'default', 'lossless'] as const) rows.push(await storeRun(dir, set, mode));
      printSet(`${set.label} (${set.models.length} models)`, originalBytes(loaded), rows);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
