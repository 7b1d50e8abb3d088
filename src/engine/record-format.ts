/**
 * Byte layout of segment files (see docs/format/segment.md). All integers little-endian.
 *
 *   segment        := segment-header record*
 *   segment-header := magic "NSSG" | version:u16 (=1) | reserved:u16 (=0) | segment-id:u32 | crc:u32
 *                     (crc = CRC-32 of the 12 bytes before it)                          -> 16 bytes
 *   record         := header-crc:u32 | payload-crc:u32 | length:u32 | reserved:u32 (=0) | key:u64 | payload[length]
 *                     (header-crc = CRC-32 of the 20 header bytes after it; payload-crc = CRC-32 of payload)
 *                                                                                        -> 24 + length bytes
 * The header has its own checksum so that opening a store can index it by reading headers alone and still
 * notice a damaged length or key; payloads are checked on every read.
 *
 * Records are appended in pages (PAGE_BYTES per write) and never rewritten in place; a record larger than a
 * page is written on its own. A segment rolls over to a new file past SEGMENT_BYTES.
 */
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = 0x4753534e; // "NSSG" read as u32 LE
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 24;
/** Largest payload one record holds (u32 length). */
export const MAX_RECORD_BYTES = 0xffff_ffff;
/** Unit of writing: records are gathered into pages of this size before they reach the file. */
export const PAGE_BYTES = 4 * 1024 * 1024;
/** A segment stops taking records once it is this large (a single larger record still fits alone). */
export const SEGMENT_BYTES = 256 * 1024 * 1024;

export function encodeSegmentHeader(segmentId: number): Uint8Array {
  const b = Buffer.alloc(SEGMENT_HEADER_BYTES);
  b.writeUInt32LE(SEGMENT_MAGIC, 0);
  b.writeUInt16LE(SEGMENT_VERSION, 4);
  b.writeUInt16LE(0, 6);
  b.writeUInt32LE(segmentId, 8);
  b.writeUInt32LE(crc32(b.subarray(0, 12)), 12);
  return b;
}

/** Returns an error message, or null when the header is valid for `segmentId`. */
export function checkSegmentHeader(bytes: Uint8Array, segmentId: number): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < SEGMENT_HEADER_BYTES) return 'segment header is truncated';
  if (b.readUInt32LE(0) !== SEGMENT_MAGIC) return 'bad segment magic (not a NeurStore segment file)';
  if (b.readUInt32LE(12) !== crc32(b.subarray(0, 12))) return 'segment header checksum mismatch';
  const version = b.readUInt16LE(4);
  if (version !== SEGMENT_VERSION) return `segment format version ${version} is not supported (expected ${SEGMENT_VERSION})`;
  if (b.readUInt32LE(8) !== segmentId) return `segment header names segment ${b.readUInt32LE(8)}, expected ${segmentId}`;
  return null;
}

export interface RecordHeader {
  readonly payloadCrc: number;
  readonly length: number;
  readonly key: bigint;
}

/** Decodes a record header; null when its checksum fails (a torn or damaged header). */
export function decodeRecordHeader(bytes: Uint8Array): RecordHeader | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, RECORD_HEADER_BYTES);
  if (crc32(b.subarray(4, RECORD_HEADER_BYTES)) !== b.readUInt32LE(0)) return null;
  return { payloadCrc: b.readUInt32LE(4), length: b.readUInt32LE(8), key: b.readBigUInt64LE(16) };
}

/** Header + payload of one record, checksummed. */
export function encodeRecord(key: bigint, payload: Uint8Array): Uint8Array {
  return Buffer.concat([encodeRecordHeader(key, [payload]), payload]);
}

/** The header of a record whose payload is `parts` joined (checksummed without joining them). */
export function encodeRecordHeader(key: bigint, parts: readonly Uint8Array[]): Uint8Array {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
  let crc = 0;
  let length = 0;
  for (const p of parts) {
    // Empty parts are skipped: node:zlib's crc32 of an empty view of a zero-byte buffer returns 0, not the
    // running value it was given (seen on Node 20.20).
    if (p.length === 0) continue;
    crc = crc32(p, crc);
    length += p.length;
  }
  out.writeUInt32LE(crc, 4);
  out.writeUInt32LE(length, 8);
  out.writeUInt32LE(0, 12);
  out.writeBigUInt64LE(key, 16);
  out.writeUInt32LE(crc32(out.subarray(4, RECORD_HEADER_BYTES)), 0);
  return out;
}

export function payloadChecksumOk(header: RecordHeader, payload: Uint8Array): boolean {
  return crc32(payload) === header.payloadCrc;
}
