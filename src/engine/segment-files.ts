/**
 * Names of the engine's files (after LevelDB's db/filename.cc): segment `n` is `segments/NNNNNN.seg`, and only
 * names of that exact shape are ever treated as segments, so a stray file in the directory is never deleted.
 */
import { joinPath } from '../env/env.js';

export const SEGMENTS_DIR = 'segments';

export function segmentPath(dir: string, id: number): string {
  return joinPath(dir, SEGMENTS_DIR, `${String(id).padStart(6, '0')}.seg`);
}

/** The segment id a file name stands for, or null when the name is not a segment's. */
export function segmentIdOf(name: string): number | null {
  const m = /^(\d{6,})\.seg$/.exec(name);
  return m ? Number(m[1]) : null;
}
