/**
 * The manifest names the segments of the store and how many bytes of each are committed. It is replaced
 * atomically (temp file, fsync, rename, fsync directory), so a reader sees one whole version or the previous one.
 *
 *   manifest := magic "NSMF" | version:u16 (=1) | reserved:u16 | body-length:u32 | crc:u32 | body
 *   body     := UTF-8 JSON {"generation": n, "nextSegmentId": n, "segments": [{"id": n, "length": n}, ...]}
 *               (crc = CRC-32 of body)
 */
import { crc32 } from 'node:zlib';
import { corruption } from '../errors.js';
import { joinPath, writeFileAtomic, type Env } from '../env/env.js';

const MANIFEST_MAGIC = 0x464d534e; // "NSMF"
const MANIFEST_VERSION = 1;
const MANIFEST_HEADER_BYTES = 16;
export const MANIFEST_FILE = 'MANIFEST';

export interface SegmentEntry {
  readonly id: number;
  /** Bytes of the segment that are committed; anything past it is an unfinished write. */
  readonly length: number;
}

export interface Manifest {
  /** Grows by one at every switch; readers compare it to notice another process's commit. */
  readonly generation: number;
  readonly nextSegmentId: number;
  readonly segments: readonly SegmentEntry[];
}

export const EMPTY_MANIFEST: Manifest = { generation: 0, nextSegmentId: 1, segments: [] };

export function encodeManifest(m: Manifest): Uint8Array {
  const body = Buffer.from(JSON.stringify(m), 'utf8');
  const head = Buffer.alloc(MANIFEST_HEADER_BYTES);
  head.writeUInt32LE(MANIFEST_MAGIC, 0);
  head.writeUInt16LE(MANIFEST_VERSION, 4);
  head.writeUInt32LE(body.length, 8);
  head.writeUInt32LE(crc32(body), 12);
  return Buffer.concat([head, body]);
}

export function decodeManifest(bytes: Uint8Array, file: string): Manifest {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < MANIFEST_HEADER_BYTES) throw corruption(file, 0, 'manifest is truncated');
  if (b.readUInt32LE(0) !== MANIFEST_MAGIC) throw corruption(file, 0, 'bad manifest magic');
  const version = b.readUInt16LE(4);
  if (version !== MANIFEST_VERSION) throw corruption(file, 4, `manifest version ${version} is not supported`);
  const length = b.readUInt32LE(8);
  if (MANIFEST_HEADER_BYTES + length !== b.length) throw corruption(file, 8, 'manifest length does not match the file');
  const body = b.subarray(MANIFEST_HEADER_BYTES);
  if (crc32(body) !== b.readUInt32LE(12)) throw corruption(file, MANIFEST_HEADER_BYTES, 'manifest checksum mismatch');
  let m: Manifest;
  try {
    m = JSON.parse(body.toString('utf8')) as Manifest;
  } catch {
    throw corruption(file, MANIFEST_HEADER_BYTES, 'manifest body is not JSON');
  }
  const entryOk = (s: SegmentEntry): boolean => Number.isSafeInteger(s?.id) && Number.isSafeInteger(s?.length) && s.length >= 0;
  if (!Array.isArray(m.segments) || !Number.isSafeInteger(m.generation) || !Number.isSafeInteger(m.nextSegmentId) || !m.segments.every(entryOk)) {
    throw corruption(file, MANIFEST_HEADER_BYTES, 'manifest body is not a manifest');
  }
  return m;
}

/**
 * Reads the manifest of `dir`; null when there is none (a new store, or a lost manifest: the engine tells them
 * apart by the segment files it finds). CORRUPTION when the file is damaged.
 */
export async function readManifest(env: Env, dir: string): Promise<Manifest | null> {
  const path = joinPath(dir, MANIFEST_FILE);
  if (!(await env.exists(path))) return null;
  return decodeManifest(await env.readFile(path), path);
}

export async function writeManifest(env: Env, dir: string, m: Manifest): Promise<void> {
  await writeFileAtomic(env, joinPath(dir, MANIFEST_FILE), encodeManifest(m));
}
