/**
 * Rebuilds a lost or damaged manifest from the segment files themselves: every file named like a segment is
 * scanned (its header checked, its records located, damaged ranges skipped), and the new manifest commits each
 * segment up to the end of its last whole record. Nothing is deleted: a torn tail stays on disk past the
 * committed length (the next write batch cuts it), records no model references wait for `gc`.
 * The caller holds the store's writer lock.
 */
import { NeurStoreError } from '../errors.js';
import { joinPath, writeFileAtomic, type Env } from '../env/env.js';
import { MANIFEST_FILE, encodeManifest, readManifest, type Manifest, type SegmentEntry } from './manifest.js';
import { SEGMENT_HEADER_BYTES, checkSegmentHeader } from './record-format.js';
import { scanSegment } from './segment-scanner.js';
import { SEGMENTS_DIR, segmentIdOf } from './segment-files.js';

export interface ManifestRebuild {
  /** Why the manifest was rebuilt: 'missing', 'damaged: <reason>', or null when it was intact (nothing done). */
  readonly reason: string | null;
  readonly manifest: Manifest;
  /** Records found per segment. */
  readonly records: number;
  /** The damaged manifest, kept for inspection (null if there was none). */
  readonly savedAs: string | null;
}

/** Reads the manifest; when it is missing (and segments exist) or damaged, writes a new one from the segments. */
export async function rebuildManifestIfNeeded(env: Env, dir: string, force = false): Promise<ManifestRebuild> {
  let reason: string | null = null;
  let current: Manifest | null = null;
  try {
    current = await readManifest(env, dir);
    if (!current) reason = 'missing';
  } catch (e) {
    if (!(e instanceof NeurStoreError) || e.code !== 'CORRUPTION') throw e;
    reason = `damaged: ${e.message}`;
  }
  if (!reason && !force) return { reason: null, manifest: current!, records: 0, savedAs: null };
  const { segments, records } = await scanSegments(env, dir);
  const nextSegmentId = Math.max(current?.nextSegmentId ?? 1, ...segments.map((s) => s.id + 1));
  // Any generation readers have not seen makes them reload; the clock gives one past every earlier switch.
  const manifest: Manifest = { generation: Math.max((current?.generation ?? 0) + 1, env.now()), nextSegmentId, segments };
  let savedAs: string | null = null;
  const path = joinPath(dir, MANIFEST_FILE);
  if (reason?.startsWith('damaged')) {
    savedAs = `${path}.damaged-${env.now()}`;
    await env.rename(path, savedAs);
  }
  await writeFileAtomic(env, path, encodeManifest(manifest));
  return { reason: reason ?? 'forced', manifest, records, savedAs };
}

async function scanSegments(env: Env, dir: string): Promise<{ segments: SegmentEntry[]; records: number }> {
  const segments: SegmentEntry[] = [];
  let records = 0;
  const names = await env.list(joinPath(dir, SEGMENTS_DIR));
  for (const name of names) {
    const id = segmentIdOf(name);
    if (id === null) continue;
    const file = await env.openRead(joinPath(dir, SEGMENTS_DIR, name));
    try {
      const size = await file.size();
      if (size < SEGMENT_HEADER_BYTES) continue;
      // A damaged segment header costs no records: they carry their own checksums.
      void checkSegmentHeader(await file.read(0, SEGMENT_HEADER_BYTES), id);
      const scan = await scanSegment(file, SEGMENT_HEADER_BYTES, size, () => records++);
      segments.push({ id, length: scan.end });
    } finally {
      await file.close();
    }
  }
  return { segments, records };
}
