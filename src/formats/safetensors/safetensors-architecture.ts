/**
 * The architecture blob of a safetensors model: what the store keeps besides the tensors, enough to rebuild
 * the file (or, for a sharded checkpoint, the index and every shard) byte for byte. Headers are kept verbatim
 * (key order, spacing, padding, extra fields, the real dtype of tensors the store holds as raw bytes) rather
 * than re-serialized, because any re-serialization would lose some of those.
 *
 * Byte layout (little-endian):
 *
 *   version 1, one file:
 *   architecture := version:u8 (=1)
 *                   fileNameLength:u16 fileName:utf8[fileNameLength]
 *                   header:byte[*]                  -- the rest: the file's JSON header, N bytes, as stored
 *
 *   version 2, a sharded checkpoint (an index JSON naming the shard of every tensor, and the shards):
 *   architecture := version:u8 (=2) shardCount:u32
 *                   file(index)                     -- the index JSON, verbatim
 *                   file(shard)[shardCount]         -- each shard's JSON header, verbatim, in shard order
 *   file         := fileNameLength:u16 fileName:utf8[fileNameLength] length:u32 bytes[length]
 *
 * The tensor order is not stored separately: it is each header's data order (ascending data_offsets, empty
 * tensors sharing an offset by name), which `parseSafetensorsHeader` computes and which the reader used to
 * number the tensors; a sharded model's tensors are the first shard's, then the second's, and so on. A file is
 * rebuilt as u64(N) header tensor_0 .. tensor_{n-1}.
 */
import { invalidArgument, notSupported } from '../../errors.js';

export const ARCHITECTURE_VERSION = 1;
export const SHARDED_ARCHITECTURE_VERSION = 2;

/** A decoded architecture blob of one file. `header` is a view into the blob. */
export interface SafetensorsArchitecture {
  readonly fileName: string;
  readonly header: Uint8Array;
}

/** A decoded architecture blob of a sharded checkpoint: the index JSON, and each shard's name and header. */
export interface ShardedArchitecture {
  readonly index: { readonly fileName: string; readonly bytes: Uint8Array };
  readonly shards: readonly SafetensorsArchitecture[];
}

const MAX_NAME_BYTES = 0xffff;

/** Encodes a file name and its verbatim header. Throws INVALID_ARGUMENT when the name is over 65535 bytes. */
export function encodeSafetensorsArchitecture(fileName: string, header: Uint8Array): Uint8Array {
  const name = Buffer.from(fileName, 'utf8');
  if (name.length > MAX_NAME_BYTES) throw invalidArgument(`file name is ${name.length} bytes, over ${MAX_NAME_BYTES}`);
  const out = new Uint8Array(3 + name.length + header.length);
  out[0] = ARCHITECTURE_VERSION;
  new DataView(out.buffer).setUint16(1, name.length, true);
  out.set(name, 3);
  out.set(header, 3 + name.length);
  return out;
}

/**
 * Decodes a blob made by `encodeSafetensorsArchitecture`. Throws NOT_SUPPORTED for a version this build does
 * not know, INVALID_ARGUMENT when the blob is truncated.
 */
export function decodeSafetensorsArchitecture(blob: Uint8Array): SafetensorsArchitecture {
  if (blob.length < 1) throw invalidArgument('safetensors architecture is empty');
  if (blob[0] !== ARCHITECTURE_VERSION) {
    throw notSupported(
      `safetensors architecture version ${blob[0]} is not supported here (this build knows ${ARCHITECTURE_VERSION} and ${SHARDED_ARCHITECTURE_VERSION})`,
    );
  }
  if (blob.length < 3) throw invalidArgument('safetensors architecture is truncated before its file name length');
  const nameLength = new DataView(blob.buffer, blob.byteOffset, blob.length).getUint16(1, true);
  if (3 + nameLength > blob.length) {
    throw invalidArgument(`safetensors architecture is truncated: file name of ${nameLength} bytes runs past its end`);
  }
  const fileName = Buffer.from(blob.subarray(3, 3 + nameLength)).toString('utf8');
  return { fileName, header: blob.subarray(3 + nameLength) };
}

/** True when `blob` is a sharded checkpoint's architecture (version 2). */
export function isShardedArchitecture(blob: Uint8Array): boolean {
  return blob[0] === SHARDED_ARCHITECTURE_VERSION;
}

/** Encodes a sharded checkpoint's index and shard headers (version 2). INVALID_ARGUMENT for a name over 65535 bytes. */
export function encodeShardedArchitecture(arch: ShardedArchitecture): Uint8Array {
  const files = [{ fileName: arch.index.fileName, bytes: arch.index.bytes }, ...arch.shards.map((s) => ({ fileName: s.fileName, bytes: s.header }))];
  const names = files.map((f) => {
    const name = Buffer.from(f.fileName, 'utf8');
    if (name.length > MAX_NAME_BYTES) throw invalidArgument(`file name is ${name.length} bytes, over ${MAX_NAME_BYTES}`);
    return name;
  });
  const out = Buffer.alloc(5 + files.reduce((n, f, i) => n + 6 + names[i]!.length + f.bytes.length, 0));
  out[0] = SHARDED_ARCHITECTURE_VERSION;
  out.writeUInt32LE(arch.shards.length, 1);
  let at = 5;
  files.forEach((f, i) => {
    at = out.writeUInt16LE(names[i]!.length, at);
    out.set(names[i]!, at);
    at = out.writeUInt32LE(f.bytes.length, at + names[i]!.length);
    out.set(f.bytes, at);
    at += f.bytes.length;
  });
  return out;
}

/**
 * Decodes a blob made by `encodeShardedArchitecture`. NOT_SUPPORTED for another version, INVALID_ARGUMENT when
 * the blob is truncated or has bytes past its last shard.
 */
export function decodeShardedArchitecture(blob: Uint8Array): ShardedArchitecture {
  if (blob[0] !== SHARDED_ARCHITECTURE_VERSION) throw notSupported(`safetensors architecture version ${blob[0]} is not that of a sharded checkpoint (${SHARDED_ARCHITECTURE_VERSION})`);
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.length);
  const need = (at: number, n: number, what: string): void => {
    if (at + n > b.length) throw invalidArgument(`sharded safetensors architecture is truncated in ${what}`);
  };
  need(1, 4, 'its shard count');
  const count = b.readUInt32LE(1);
  let at = 5;
  const file = (what: string): { fileName: string; bytes: Uint8Array } => {
    need(at, 2, what);
    const nameLength = b.readUInt16LE(at);
    need(at + 2, nameLength + 4, what);
    const fileName = b.toString('utf8', at + 2, at + 2 + nameLength);
    const length = b.readUInt32LE(at + 2 + nameLength);
    at += 6 + nameLength;
    need(at, length, what);
    const bytes = blob.subarray(at, at + length);
    at += length;
    return { fileName, bytes };
  };
  const index = file('the index');
  const shards: SafetensorsArchitecture[] = [];
  for (let i = 0; i < count; i++) {
    const s = file(`shard ${i + 1} of ${count}`);
    shards.push({ fileName: s.fileName, header: s.bytes });
  }
  if (at !== b.length) throw invalidArgument(`sharded safetensors architecture has ${b.length - at} bytes past its last shard`);
  return { index, shards };
}
