/**
 * The baselines `npm run bench:compress` sets beside the store's modes, in the order they are printed, and
 * the table both share: one row per method with bytes kept, ratio (original / stored) and MB/s over the
 * original bytes. The store's rows (paper / default / lossless) are added by passing more `MethodRow`s.
 */
import { formatBytes, table } from '../../src/cli/format-output.js';
import { byteGroupedZstdBaseline } from './byte-grouped-zstd-baseline.js';
import { cdcDedupBaseline, cdcDedupZstdBaseline } from './cdc-dedup-baseline.js';
import { exactTensorDedupBaseline } from './exact-tensor-dedup-baseline.js';
import { originalBytes, type BaselineResult, type LoadedSet } from './loaded-set.js';
import { zstdFilesBaseline } from './zstd-files-baseline.js';

/** One named baseline. */
export interface Baseline {
  name: string;
  run(set: LoadedSet): BaselineResult;
}

export const BASELINES: readonly Baseline[] = [
  { name: 'zstd -3 of the files', run: zstdFilesBaseline },
  { name: 'byte-grouped zstd -3 (ZipNN, best grouping)', run: byteGroupedZstdBaseline },
  { name: 'CDC 64 KiB dedup (Xet, plain)', run: cdcDedupBaseline },
  { name: 'CDC 64 KiB dedup + zstd -3 (Xet)', run: cdcDedupZstdBaseline },
  { name: 'exact tensor dedup (Ollama/ZipLLM)', run: exactTensorDedupBaseline },
];

/** A row of the comparison table: a method and what it measured over one set. */
export interface MethodRow extends BaselineResult {
  method: string;
}

/** Runs every baseline over `set`, one after another (each is timed alone). */
export function runBaselines(set: LoadedSet): MethodRow[] {
  return BASELINES.map((b) => ({ method: b.name, ...b.run(set) }));
}

/** The table for one set: the original first, then each row with bytes, ratio and throughput. */
export function methodTable(set: LoadedSet, rows: readonly MethodRow[]): string {
  const original = originalBytes(set);
  const mb = original / 1024 / 1024;
  const body: Array<Array<string | number>> = [['original', original, formatBytes(original), '1.00x', '-']];
  for (const r of rows) {
    const ratio = r.bytes > 0 ? `${(original / r.bytes).toFixed(2)}x` : '-';
    const speed = r.seconds > 0 ? (mb / r.seconds).toFixed(0) : '-';
    body.push([r.method, r.bytes, formatBytes(r.bytes), ratio, speed]);
  }
  return table(['METHOD', 'BYTES', 'SIZE', 'RATIO', 'MB/S'], body);
}
