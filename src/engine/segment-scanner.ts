/**
 * Walks the record headers of a segment between two offsets without reading payloads, to rebuild the index on
 * open, to catch up with another process's commits and to rebuild a lost manifest. Headers are read in large
 * chunks, not one pread each.
 *
 * Damage stays local (as LevelDB's log reader skips a bad block): a header that fails its checksum, or whose
 * length runs past the end, costs only the bytes up to the next valid header. The scanner looks for it byte by
 * byte: a candidate must have its reserved word zero, a length that fits, and a matching header CRC-32
 * (a false match is one in 2^32 after the zero check), and it must not itself overlap the end.
 */
import type { EnvFile } from '../env/env.js';
import { RECORD_HEADER_BYTES, decodeRecordHeader, type RecordHeader } from './record-format.js';

/** Window read while headers follow each other closely (small records). */
const SCAN_CHUNK_BYTES = 1024 * 1024;
/**
 * Window read after a jump over a payload: the next header is all that is needed. Read 1 MiB at each header, a
 * store of 5 MiB chunk records read a fifth of its bytes just to open (142 MB for a 1 GB model, ~0.25 s).
 */
const SCAN_JUMP_BYTES = 64 * 1024;

export interface ScannedRecord {
  readonly key: bigint;
  /** Offset of the record header in the segment. */
  readonly offset: number;
  readonly length: number;
}

/** A byte range that holds no locatable record: a damaged header and whatever it framed. */
export interface DamagedRange {
  readonly offset: number;
  /** Bytes skipped to reach the next valid header (or the end). */
  readonly length: number;
  readonly message: string;
}

export interface ScanResult {
  /** Offset just past the last whole record seen (`from` when none was): the committed length a rebuilt manifest names. */
  readonly end: number;
  /** Damaged ranges in [from, to), in order; records after each were still found. */
  readonly damage: DamagedRange[];
}

/**
 * Reads [from, to) of a file in windows and answers header reads at any offset inside it. The windows are read
 * into one buffer, reused (fresh memory per window cost page faults): a header it returns is valid until the
 * next call.
 */
class ChunkReader {
  private chunk: Uint8Array = new Uint8Array(0);
  private start = 0;
  private readonly buffer: Uint8Array;

  constructor(private readonly file: EnvFile, private readonly to: number) {
    this.buffer = new Uint8Array(Math.max(0, Math.min(SCAN_CHUNK_BYTES, to)));
  }

  /** The RECORD_HEADER_BYTES at `pos` (pos + RECORD_HEADER_BYTES <= to). */
  async header(pos: number): Promise<Uint8Array> {
    const end = this.start + this.chunk.length;
    if (pos < this.start || pos + RECORD_HEADER_BYTES > end) {
      const window = pos >= this.start && pos < end + SCAN_JUMP_BYTES ? SCAN_CHUNK_BYTES : SCAN_JUMP_BYTES;
      const length = Math.min(window, this.to - pos);
      this.start = pos;
      this.chunk = await this.file.read(pos, length, this.buffer.length >= length ? this.buffer : undefined);
    }
    return this.chunk.subarray(pos - this.start, pos - this.start + RECORD_HEADER_BYTES);
  }
}

function headerAt(bytes: Uint8Array, pos: number, to: number): RecordHeader | null {
  // Cheap filters first: the reserved word is zero in every header this version writes.
  if (bytes[12] !== 0 || bytes[13] !== 0 || bytes[14] !== 0 || bytes[15] !== 0) return null;
  const header = decodeRecordHeader(bytes);
  if (!header || pos + RECORD_HEADER_BYTES + header.length > to) return null;
  return header;
}

/** The offset of the next valid header after `pos`, or `to` when none is left. */
async function resync(reader: ChunkReader, pos: number, to: number): Promise<number> {
  for (let p = pos + 1; p + RECORD_HEADER_BYTES <= to; p++) {
    if (headerAt(await reader.header(p), p, to)) return p;
  }
  return to;
}

/** Visits every locatable record whose header starts in [from, to) and whose bytes end by `to`. */
export async function scanSegment(
  file: EnvFile,
  from: number,
  to: number,
  visit: (r: ScannedRecord) => void,
): Promise<ScanResult> {
  const reader = new ChunkReader(file, to);
  const damage: DamagedRange[] = [];
  let pos = from;
  let end = from;
  while (pos < to) {
    if (to - pos < RECORD_HEADER_BYTES) {
      damage.push({ offset: pos, length: to - pos, message: 'record header is cut short' });
      break;
    }
    const bytes = await reader.header(pos);
    const header = headerAt(bytes, pos, to);
    if (!header) {
      const valid = decodeRecordHeader(bytes);
      const message = valid ? `record length ${valid.length} runs past the end` : 'record header checksum mismatch';
      const next = await resync(reader, pos, to);
      damage.push({ offset: pos, length: next - pos, message });
      pos = next;
      continue;
    }
    visit({ key: header.key, offset: pos, length: header.length });
    pos = end = pos + RECORD_HEADER_BYTES + header.length;
  }
  return { end, damage };
}
