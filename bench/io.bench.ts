/**
 * `npm run bench:io`: put and get throughput of a >= 200 MB safetensors file, next to a plain copy of the same
 * file (read, write, fsync: what put and get must at least do), measured in the same run, as ratios.
 * Flags: --mb N (file size, default 256), --runs N (best of N, default 3).
 */
import { copyFileSync, mkdtempSync, openSync, fsyncSync, closeSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NeurStore } from '../src/store/neur-store.js';
import { SeededRandom } from '../src/env/seeded-random.js';
import { table } from '../src/cli/format-output.js';
import { writeSafetensorsFile } from '../src/store/testing/safetensors-files.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MB = arg('mb', 256);
const RUNS = arg('runs', 3);
const TENSOR_MB = 4;

function timed(f: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  return Promise.resolve(f()).then(() => Number(process.hrtime.bigint() - t) / 1e9);
}

async function best(f: (run: number) => Promise<void> | void): Promise<number> {
  let min = Infinity;
  for (let r = 0; r < RUNS; r++) min = Math.min(min, await timed(() => f(r)));
  return min;
}

function copyWithFsync(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r+');
  fsyncSync(fd);
  closeSync(fd);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-bench-io-'));
  try {
    const rng = new SeededRandom(7);
    const n = Math.ceil(MB / TENSOR_MB);
    const elems = (TENSOR_MB * 1024 * 1024) / 4;
    const tensors = Array.from({ length: n }, (_, i) => ({ name: `layers.${i}.weight`, dtype: 'F32', shape: [1024, elems / 1024], bytes: rng.bytes(elems * 4) }));
    const file = await writeSafetensorsFile(join(dir, 'model.safetensors'), tensors);
    tensors.length = 0;
    const bytes = statSync(file).size;
    readFileSync(file); // warm the page cache for every contender alike

    const copy = await best((r) => copyWithFsync(file, join(dir, `copy-${r}`)));
    const put = await best(async (r) => {
      const store = await NeurStore.init(join(dir, `store-${r}`));
      await store.put(file, { name: 'm' });
      await store.close();
    });
    const putDup = await best(async (r) => {
      const store = await NeurStore.open(join(dir, 'store-0'));
      await store.put(file, { name: `again-${r}` });
      await store.close();
    });
    const get = await best(async (r) => {
      const store = await NeurStore.open(join(dir, 'store-0'));
      await store.get('m', join(dir, `out-${r}.safetensors`));
      await store.close();
    });
    if (!readFileSync(join(dir, 'out-0.safetensors')).equals(readFileSync(file))) throw new Error('get was not byte-identical');

    const mbs = (s: number): string => (bytes / 1024 / 1024 / s).toFixed(0);
    console.log(`bench:io  file ${(bytes / 1024 / 1024).toFixed(0)} MB (${n} F32 tensors of ${TENSOR_MB} MB, random), best of ${RUNS}, page cache warm, fsync on every path\n`);
    console.log(table(['OPERATION', 'SECONDS', 'MB/S', 'VS COPY'], [
      ['plain copy (copyFile + fsync)', copy.toFixed(3), mbs(copy), '1.00x'],
      ['neurstore put (new tensors)', put.toFixed(3), mbs(put), `${(copy / put).toFixed(2)}x`],
      ['neurstore put (all duplicates)', putDup.toFixed(3), mbs(putDup), `${(copy / putDup).toFixed(2)}x`],
      ['neurstore get (byte-exact)', get.toFixed(3), mbs(get), `${(copy / get).toFixed(2)}x`],
    ]));
    console.log('\nVS COPY = copy time / operation time (above 1: faster than a plain copy).');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
