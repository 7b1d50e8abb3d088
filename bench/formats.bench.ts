/**
 * `npm run bench:formats`: per format, put and get throughput and the stored/original ratio, with exact dedup
 * alone and with the store's lossless mode, over the real model sets. TF.js: all 41 human-models and the 7 face-api models; ONNX: the 3 Silero VAD
 * versions; safetensors: the 3 MNIST checkpoints plus every human-models model exported to safetensors;
 * GGUF: no real GGUF ships through npm, so the same human-models exported to GGUF (marked as derived).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeurStore } from '../src/store/neur-store.js';
import { table } from '../src/cli/format-output.js';
import { FIXTURES_DIR, SHARED_MNIST_DIR, ensureFixtures } from '../scripts/fetch-fixtures.js';
import type { FormatName } from '../src/formats/model-format.js';
import { isNeurStoreError } from '../src/errors.js';

const human = readdirSync(join(FIXTURES_DIR, 'human-models')).filter((f) => f.endsWith('.json')).sort();
const faceApi = readdirSync(join(FIXTURES_DIR, 'face-api')).filter((f) => f.endsWith('.json')).sort();

function sizeOf(files: string[]): number {
  return files.reduce((n, f) => n + statSync(f).size, 0);
}

async function seconds(f: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

interface ModelSet {
  label: string;
  inputs: Array<{ name: string; path: string; files: string[] }>;
}

async function measure(dir: string, set: ModelSet): Promise<Array<string | number>> {
  const storeDir = join(dir, `store-${set.label.replace(/\W+/g, '_')}`);
  const store = await NeurStore.init(storeDir);
  const bytes = sizeOf(set.inputs.flatMap((m) => m.files));
  const put = await seconds(async () => {
    for (const m of set.inputs) await store.put(m.path, { name: m.name });
  });
  const get = await seconds(async () => {
    for (const m of set.inputs) await store.get(m.name, join(dir, 'out', set.label.replace(/\W+/g, '_'), m.name, 'model'));
  });
  const s = await store.stats();
  // What exact dedup alone would keep: every tensor that was not a duplicate, at its full size.
  let dedupOnly = 0;
  for (const m of await store.list()) dedupOnly += (await store.info(m.name)).tensors.filter((t) => t.storedAs !== 'duplicate').reduce((n, t) => n + t.byteLength, 0);
  await store.close();
  const mb = bytes / 1024 / 1024;
  return [set.label, set.inputs.length, mb.toFixed(1), (mb / put).toFixed(0), (mb / get).toFixed(0), (s.bytesOnDisk / 1024 / 1024).toFixed(1), (dedupOnly / bytes).toFixed(3), (s.bytesOnDisk / bytes).toFixed(3), s.dedupHits];
}

const skipped: string[] = [];

async function exported(dir: string, format: FormatName): Promise<ModelSet['inputs']> {
  const store = await NeurStore.init(join(dir, `export-${format}`));
  const out: ModelSet['inputs'] = [];
  for (const f of human) {
    const name = f.replace(/\.json$/, '');
    await store.put(join(FIXTURES_DIR, 'human-models', f), { name });
    try {
      const [main] = await store.get(name, join(dir, `as-${format}`, `${name}.${format}`), { format });
      out.push({ name, path: main!, files: [main!] });
    } catch (e) {
      if (!isNeurStoreError(e, 'NOT_SUPPORTED')) throw e;
      skipped.push(`${name} -> ${format}: ${e.message}`);
    }
  }
  await store.close();
  return out;
}

async function main(): Promise<void> {
  ensureFixtures();
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-formats-'));
  try {
    const tfjsInputs = [
      ...human.map((f) => ({ name: f.replace(/\.json$/, ''), path: join(FIXTURES_DIR, 'human-models', f), files: [join(FIXTURES_DIR, 'human-models', f), join(FIXTURES_DIR, 'human-models', f.replace(/\.json$/, '.bin'))] })),
      ...faceApi.map((f) => ({ name: `face-api/${f.replace(/-weights_manifest\.json$/, '')}`, path: join(FIXTURES_DIR, 'face-api', f), files: [join(FIXTURES_DIR, 'face-api', f), join(FIXTURES_DIR, 'face-api', f.replace(/-weights_manifest\.json$/, '.bin'))] })),
    ];
    const onnxInputs = readdirSync(join(FIXTURES_DIR, 'vad-web')).filter((f) => f.endsWith('.onnx')).map((f) => ({ name: f, path: join(FIXTURES_DIR, 'vad-web', f), files: [join(FIXTURES_DIR, 'vad-web', f)] }));
    const mnist = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).map((f) => ({ name: f, path: join(SHARED_MNIST_DIR, f), files: [join(SHARED_MNIST_DIR, f)] }));
    const sets: ModelSet[] = [
      { label: 'tfjs (human-models + face-api)', inputs: tfjsInputs },
      { label: 'onnx (Silero v4/v5/v6)', inputs: onnxInputs },
      { label: 'safetensors (MNIST + human-models exported)', inputs: [...mnist, ...(await exported(dir, 'safetensors'))] },
      { label: 'gguf (human-models exported; derived)', inputs: await exported(dir, 'gguf') },
    ];
    const rows = [];
    for (const set of sets) rows.push(await measure(dir, set));
    console.log('bench:formats  lossless mode (exact dedup + lossless coding), fsync on every put, page cache warm\n');
    console.log(table(['SET', 'MODELS', 'MB IN', 'PUT MB/S', 'GET MB/S', 'MB ON DISK', 'EXACT DEDUP ONLY', 'STORED/ORIGINAL', 'DEDUP HITS'], rows));
    console.log('\nEXACT DEDUP ONLY = tensor bytes left after exact dedup (+ nothing else) / original; STORED = all bytes on disk.');
    console.log('\nON DISK counts segments, manifest and catalog. GET writes every file back byte-identical.');
    if (skipped.length) console.log(`\nnot exported (NOT_SUPPORTED):\n  ${skipped.join('\n  ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
