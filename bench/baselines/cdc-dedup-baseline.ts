/**
 * Baseline "64 KiB content-defined chunk dedup", the Hugging Face Xet method: every file is cut into
 * gear-hash chunks (see gear-chunker.ts for the parameters), chunks are deduplicated across the whole set by
 * SHA-256, and the store keeps each unique chunk once. Xet also compresses chunks, so there are two figures:
 * unique chunks as they are, and each unique chunk zstd -3 compressed on its own (as a chunk store must, to
 * fetch chunks independently).
 */
import { gearTable, chunkViews, XET_CHUNKING, type ChunkerOptions } from './gear-chunker.js';
import { sha256Hex } from './exact-tensor-dedup-baseline.js';
import { timed, type BaselineResult, type LoadedSet } from './loaded-set.js';
import { zstdSize } from './zstd-files-baseline.js';

/** Chunk statistics over a set; `uniqueChunks` are the distinct chunks, first occurrence kept. */
export interface ChunkDedup {
  chunks: number;
  uniqueChunks: Uint8Array[];
  uniqueBytes: number;
}

/** Chunks every file of the set and keeps one copy of each distinct chunk (by SHA-256). */
export function dedupChunks(set: LoadedSet, options: ChunkerOptions = XET_CHUNKING): ChunkDedup {
  const table = gearTable(options.seed);
  const seen = new Set<string>();
  const out: ChunkDedup = { chunks: 0, uniqueChunks: [], uniqueBytes: 0 };
  for (const m of set.models) {
    for (const f of m.files) {
      for (const c of chunkViews(f.bytes, options, table)) {
        out.chunks++;
        const h = sha256Hex(c);
        if (seen.has(h)) continue;
        seen.add(h);
        out.uniqueChunks.push(c);
        out.uniqueBytes += c.length;
      }
    }
  }
  return out;
}

/** Sum of the unique chunks' sizes, uncompressed. */
export function cdcDedupBaseline(set: LoadedSet, options: ChunkerOptions = XET_CHUNKING): BaselineResult {
  const { value, seconds } = timed(() => dedupChunks(set, options).uniqueBytes);
  return { bytes: value, seconds };
}

/** Sum of the unique chunks' zstd -3 sizes, each chunk its own frame; the time includes chunking. */
export function cdcDedupZstdBaseline(set: LoadedSet, options: ChunkerOptions = XET_CHUNKING): BaselineResult {
  const { value, seconds } = timed(() => dedupChunks(set, options).uniqueChunks.reduce((n, c) => n + zstdSize(c), 0));
  return { bytes: value, seconds };
}
