/**
 * The body of a chunk-list record (codec 16): a tensor larger than a chunk is stored as chunk records (kind 4,
 * each content-addressed on its own, so identical chunks dedup and each decodes on its own worker), named in
 * order by this list. The list record's identity is the whole tensor's, so a tensor put again still dedups whole.
 *
 *   chunk-list := version:u8 (=1) | reserved:u8[3] (=0) | chunk-bytes:u32 | count:u32 | total-bytes:u64
 *                 | (key:u64 | length:u32)*count                                 -> 20 + 12 x count bytes
 *
 * `chunk-bytes` is the chunk size the tensor was cut with (every chunk but the last has that length).
 */
import { corruption } from '../errors.js';

const VERSION = 1;
const HEAD_BYTES = 20;
const ENTRY_BYTES = 12;

export interface ChunkRef {
  readonly key: bigint;
  /** Bytes of the tensor this chunk holds. */
  readonly length: number;
}

export interface ChunkList {
  readonly chunkBytes: number;
  readonly totalBytes: number;
  readonly chunks: readonly ChunkRef[];
}

export function encodeChunkList(list: ChunkList): Uint8Array {
  const out = Buffer.alloc(HEAD_BYTES + ENTRY_BYTES * list.chunks.length);
  out[0] = VERSION;
  out.writeUInt32LE(list.chunkBytes, 4);
  out.writeUInt32LE(list.chunks.length, 8);
  out.writeBigUInt64LE(BigInt(list.totalBytes), 12);
  list.chunks.forEach((c, i) => {
    out.writeBigUInt64LE(c.key, HEAD_BYTES + ENTRY_BYTES * i);
    out.writeUInt32LE(c.length, HEAD_BYTES + ENTRY_BYTES * i + 8);
  });
  return out;
}

/** Parses a chunk list; CORRUPTION naming `where` when it does not add up. */
export function decodeChunkList(body: Uint8Array, where: string): ChunkList {
  const b = Buffer.from(body.buffer, body.byteOffset, body.length);
  if (b.length < HEAD_BYTES || b[0] !== VERSION) throw corruption(where, 0, `chunk list has version ${b[0]}, expected ${VERSION}`);
  const count = b.readUInt32LE(8);
  if (b.length !== HEAD_BYTES + ENTRY_BYTES * count) throw corruption(where, 8, `chunk list of ${count} chunks has ${b.length} bytes`);
  const chunkBytes = b.readUInt32LE(4);
  const totalBytes = Number(b.readBigUInt64LE(12));
  const chunks: ChunkRef[] = [];
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const length = b.readUInt32LE(HEAD_BYTES + ENTRY_BYTES * i + 8);
    if (length === 0 || length > chunkBytes) throw corruption(where, HEAD_BYTES + ENTRY_BYTES * i, `chunk ${i} has ${length} bytes (chunks are ${chunkBytes})`);
    chunks.push({ key: b.readBigUInt64LE(HEAD_BYTES + ENTRY_BYTES * i), length });
    sum += length;
  }
  if (sum !== totalBytes) throw corruption(where, 12, `chunks hold ${sum} bytes, the list says ${totalBytes}`);
  return { chunkBytes, totalBytes, chunks };
}
