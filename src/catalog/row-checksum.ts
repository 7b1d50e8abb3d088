/**
 * Checksums of catalog rows, so that a flipped bit in the catalog is CORRUPTION naming the model, never a silent
 * rename, a wrong record key or a wrong base. Every backend stores them beside the rows and checks them on read.
 * Each is the CRC-32 of a canonical JSON rendering of the fields (fixed order; 64-bit keys in hex).
 */
import { crc32 } from 'node:zlib';
import type { ModelRow, TensorRow } from './catalog.js';

/** Checksum of a model row and its tags (not its tensors: `tensorRowsChecksum`). */
export function modelRowChecksum(m: ModelRow): number {
  const tags = Object.keys(m.tags).sort().map((k) => [k, m.tags[k]]);
  const metadata = Object.keys(m.metadata).sort().map((k) => [k, m.metadata[k]]);
  return crc32(JSON.stringify([
    m.name, m.format, m.createdMs, m.bytesIn, m.files, m.architectureKey.toString(16), m.mode, m.tolerance,
    m.tensorCount, m.storedBytes, metadata, tags,
  ]));
}

/** Checksum of a model's tensor rows, in their order. */
export function tensorRowsChecksum(rows: readonly TensorRow[]): number {
  return crc32(JSON.stringify(rows.map((r) => [
    r.index, r.name, r.dtype, r.shape, r.byteLength, r.recordKey.toString(16), r.storedAs, r.codec,
    r.baseKey === undefined ? null : r.baseKey.toString(16), r.depth, r.storedBytes, r.bits, r.maxError,
  ])));
}
