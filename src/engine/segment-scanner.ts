/**
 * Walks the record headers of a segment between two offsets without reading payloads, to rebuild the index on
 * open and to catch up with another process's commits. Headers are read in large chunks, not one pread each.
 */
import type { EnvFile } from '../env/env.js';
import { RECORD_HEADER_BYTES, decodeRecordHeader } from './record-format.js';

const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface ScannedRecord {
  readonly key: bigint;
  /** Offset of the record header in the segment. */
  readonly offset: number;
  readonly length: number;
}

export interface ScanResult {
  /** Offset just past the last whole record seen. */
  readonly end: number;
  /** Set when a header in [from, to) is damaged; records after it cannot be located. */
  readonly damage?: { offset: number; message: string };
}

/** Visits every record whose header starts in [from, to) and whose bytes end by `to`. */
export async function scanSegment(
  file: EnvFile,
  from: number,
  to: number,
  visit: (r: ScannedRecord) => void,
): Promise<ScanResult> {
  let pos = from;
  let chunk: Uint8Array = new Uint8Array(0);
  let chunkStart = from;
  while (pos < to) {
    if (to - pos < RECORD_HEADER_BYTES) return { end: pos, damage: { offset: pos, message: 'record header is cut short' } };
    if (pos < chunkStart || pos + RECORD_HEADER_BYTES > chunkStart + chunk.length) {
      chunkStart = pos;
      chunk = await file.read(pos, Math.min(SCAN_CHUNK_BYTES, to - pos));
    }
    const header = decodeRecordHeader(chunk.subarray(pos - chunkStart, pos - chunkStart + RECORD_HEADER_BYTES));
    if (!header) return { end: pos, damage: { offset: pos, message: 'record header checksum mismatch' } };
    const next = pos + RECORD_HEADER_BYTES + header.length;
    if (next > to) return { end: pos, damage: { offset: pos, message: `record length ${header.length} runs past the end` } };
    visit({ key: header.key, offset: pos, length: header.length });
    pos = next;
  }
  return { end: pos };
}
