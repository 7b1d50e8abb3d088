/**
 * A gear-hash content-defined chunker (the FastCDC family, as used by Hugging Face Xet). A rolling hash
 * `h = (h << 1) + GEAR[byte]` forgets a byte after 32 steps (32-bit state), so whether position i ends a chunk
 * depends only on the 32 bytes before it: inserting or removing bytes moves the boundaries near the edit and
 * leaves the later ones where the content is, which is what lets two files that share content share chunks.
 *
 * Parameters (`XET_CHUNKING`): average 64 KiB, minimum 8 KiB, maximum 128 KiB, i.e. Xet's own
 * (target 64 KiB, min = target / 8, max = target * 2), because this baseline stands for Xet, not for a tuned
 * FastCDC. Like Xet, no normalized chunking: after the minimum, each position is a cut with probability
 * 2^-16 (the 16 high hash bits zero), so chunks run min + ~64 KiB on random data, capped at the maximum.
 * The 256-entry gear table comes from a seeded generator, so boundaries are reproducible run to run.
 */
import { invalidArgument } from '../../src/errors.js';
import { SeededRandom } from '../../src/env/seeded-random.js';

export interface ChunkerOptions {
  /** No cut before this many bytes into a chunk (the last chunk of a file may be shorter). */
  minSize: number;
  /** Expected distance between cuts past `minSize`; a power of two. */
  avgSize: number;
  /** A chunk is cut here when no content boundary came first. */
  maxSize: number;
  /** Seed of the gear table. */
  seed: number;
}

export const XET_CHUNKING: ChunkerOptions = { minSize: 8 * 1024, avgSize: 64 * 1024, maxSize: 128 * 1024, seed: 0x5eed_ca7e };

/** 256 seeded 32-bit values, one per byte value. */
export function gearTable(seed: number): Uint32Array {
  const rng = new SeededRandom(seed);
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = rng.nextU32();
  return table;
}

function checkOptions(o: ChunkerOptions): number {
  const bits = Math.log2(o.avgSize);
  if (!Number.isInteger(bits) || bits < 1 || bits > 31) throw invalidArgument(`chunker avgSize must be a power of two in 2..2^31, got ${o.avgSize}`);
  if (!Number.isInteger(o.minSize) || o.minSize < 1) throw invalidArgument(`chunker minSize must be a positive integer, got ${o.minSize}`);
  if (!Number.isInteger(o.maxSize) || o.maxSize < o.minSize) throw invalidArgument(`chunker maxSize must be an integer >= minSize (${o.minSize}), got ${o.maxSize}`);
  return bits;
}

/**
 * The end offset of every chunk of `data`, ascending; the last is `data.length` (none for empty data).
 * Every chunk is at most `maxSize` and, except the last, at least `minSize`. INVALID_ARGUMENT on bad options.
 */
export function chunkEnds(data: Uint8Array, options: ChunkerOptions = XET_CHUNKING, table = gearTable(options.seed)): number[] {
  const bits = checkOptions(options);
  // The high bits carry the longest history, so they decide cuts.
  const mask = (((2 ** bits - 1) * 2 ** (32 - bits)) | 0);
  const ends: number[] = [];
  let start = 0;
  while (start < data.length) {
    const limit = Math.min(data.length, start + options.maxSize);
    let cut = limit;
    let h = 0;
    for (let i = start + options.minSize; i < limit; i++) {
      h = ((h << 1) + table[data[i]!]!) | 0;
      if ((h & mask) === 0) {
        cut = i + 1;
        break;
      }
    }
    ends.push(cut);
    start = cut;
  }
  return ends;
}

/** The chunks of `data` as views (no copies), in order. */
export function chunkViews(data: Uint8Array, options: ChunkerOptions = XET_CHUNKING, table = gearTable(options.seed)): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (const end of chunkEnds(data, options, table)) {
    out.push(data.subarray(start, end));
    start = end;
  }
  return out;
}
