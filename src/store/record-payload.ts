/**
 * How the store frames what it keeps in engine records, and how it derives their keys.
 *
 *   payload := version:u8 (=1) | kind:u8 | codec:u8 | reserved:u8 (=0) | digest[32] | body
 *   kind    := 1 architecture | 2 tensor
 *   codec   := 0 raw | 1 zstd
 *   digest  := SHA-256 of (kind byte || original bytes): the content's identity, checked again after decoding
 *
 * A record's key is the digest's first 8 bytes (little-endian u64); when two different contents share those
 * bytes (about one pair in 4e18), the later one probes key+1, key+2... (see `ContentStore`).
 */
import { createHash } from 'node:crypto';
import { compress, decompress } from 'zstd-napi';
import { corruption } from '../errors.js';

export const PAYLOAD_VERSION = 1;
export const PAYLOAD_HEADER_BYTES = 36;

export enum RecordKind {
  Architecture = 1,
  Tensor = 2,
}

export enum Codec {
  Raw = 0,
  Zstd = 1,
}

export function contentDigest(kind: RecordKind, bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(Uint8Array.of(kind)).update(bytes).digest();
}

export function keyOfDigest(digest: Uint8Array): bigint {
  return Buffer.from(digest.buffer, digest.byteOffset, 8).readBigUInt64LE(0);
}

/** Frames `bytes`; compresses with zstd when asked and when that is smaller. */
export function encodePayload(kind: RecordKind, digest: Uint8Array, bytes: Uint8Array, tryZstd: boolean): Uint8Array {
  let codec = Codec.Raw;
  let body = bytes;
  if (tryZstd && bytes.length > 64) {
    const z = compress(bytes, { compressionLevel: 3 });
    if (z.length < bytes.length) {
      codec = Codec.Zstd;
      body = z;
    }
  }
  const out = Buffer.allocUnsafe(PAYLOAD_HEADER_BYTES + body.length);
  out[0] = PAYLOAD_VERSION;
  out[1] = kind;
  out[2] = codec;
  out[3] = 0;
  out.set(digest, 4);
  out.set(body, PAYLOAD_HEADER_BYTES);
  return out;
}

/** True when a payload prefix carries `digest` (a cheap identity check before dedup). */
export function payloadHasDigest(prefix: Uint8Array, digest: Uint8Array): boolean {
  if (prefix.length < PAYLOAD_HEADER_BYTES) return false;
  return Buffer.compare(Buffer.from(prefix.subarray(4, 36)), Buffer.from(digest)) === 0;
}

/** Decodes a payload and checks the result against its digest; CORRUPTION (naming `where`) on any mismatch. */
export function decodePayload(payload: Uint8Array, expectKind: RecordKind, where: string): Uint8Array {
  if (payload.length < PAYLOAD_HEADER_BYTES || payload[0] !== PAYLOAD_VERSION) {
    throw corruption(where, 0, `record payload has version ${payload[0]}, expected ${PAYLOAD_VERSION}`);
  }
  if (payload[1] !== expectKind) throw corruption(where, 1, `record holds kind ${payload[1]}, expected ${expectKind}`);
  const digest = payload.subarray(4, 36);
  const body = payload.subarray(PAYLOAD_HEADER_BYTES);
  let bytes: Uint8Array;
  if (payload[2] === Codec.Raw) bytes = body;
  else if (payload[2] === Codec.Zstd) bytes = decompress(body);
  else throw corruption(where, 2, `unknown codec ${payload[2]}`);
  if (!payloadHasDigest(payload, contentDigest(expectKind, bytes))) {
    throw corruption(where, 4, 'decoded bytes do not match their SHA-256 digest');
  }
  return bytes;
}
