/**
 * Prints, for every benchmark model set, the original size and what each baseline keeps on disk, with ratio
 * and MB/s, all measured in this run: `npx tsx bench/baselines/print-baselines.ts [label-substring...]`.
 * Files and tensors are read before timing starts; the MB/s columns are compression work only.
 */
import { ensureFixtures } from '../../scripts/fetch-fixtures.js';
import { fixtureModelSets, mnistFamilySet } from '../model-sets.js';
import { methodTable, runBaselines } from './baseline-suite.js';
import { loadModelSet } from './loaded-set.js';

async function main(): Promise<void> {
  ensureFixtures();
  const filters = process.argv.slice(2).map((s) => s.toLowerCase());
  const wanted = (label: string): boolean => filters.length === 0 || filters.some((f) => label.toLowerCase().includes(f));
  // Only build the MNIST family (minutes of training on a cold cache) when it will be printed.
  const mnist = wanted('mnist') ? [await mnistFamilySet((s) => console.error(s))] : [];
  const sets = [...mnist, ...fixtureModelSets()].filter((s) => wanted(s.label));
  for (const def of sets) {
    const set = await loadModelSet(def);
    const tensors = set.models.reduce((n, m) => n + m.tensors.length, 0);
    const unlocated = set.models.reduce((n, m) => n + m.unlocatedTensors, 0);
    console.log(`\n${def.label}: ${set.models.length} models, ${tensors} tensors${unlocated ? `, ${unlocated} not found verbatim in their files` : ''}`);
    console.log(methodTable(set, runBaselines(set)));
  }
  console.log('\nRATIO = original / stored. MB/S = original MB / seconds of that method alone (files already in memory).');
  console.log('ZipNN keeps, per model, the smaller of per-tensor and per-dtype frames and is timed computing both.');
  console.log('CDC: gear hash, min 8 KiB / avg 64 KiB / max 128 KiB (Xet\'s), SHA-256 dedup across the set; +zstd: each unique chunk its own frame.');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
