/**
 * Baseline "zstd -3 of the files": what a user gets by compressing each model file on its own with a
 * general-purpose compressor at its default level. No format knowledge, no sharing across files.
 */
import { compress } from 'zstd-napi';
import { timed, type BaselineResult, type LoadedSet } from './loaded-set.js';

/** The zstd level every baseline uses: zstd's own default, the level people actually run. */
export const ZSTD_LEVEL = 3;

/** Size of `bytes` after one zstd frame at `ZSTD_LEVEL`. */
export function zstdSize(bytes: Uint8Array): number {
  return compress(bytes, { compressionLevel: ZSTD_LEVEL }).length;
}

/** Sum over every file of the set of its zstd -3 size (each file its own frame). */
export function zstdFilesBaseline(set: LoadedSet): BaselineResult {
  const { value, seconds } = timed(() => {
    let n = 0;
    for (const m of set.models) for (const f of m.files) n += zstdSize(f.bytes);
    return n;
  });
  return { bytes: value, seconds };
}
