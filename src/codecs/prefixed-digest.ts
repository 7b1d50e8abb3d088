/**
 * SHA-256 of one prefix byte followed by `bytes`: an exact record's identity (the prefix is its kind), and the
 * digest a decoded or group-quantized chunk is checked against. One definition wherever it is taken (the reading
 * thread, a codec worker hashing a chunk for its identity, a worker decoding one), so they cannot disagree.
 */
import { createHash } from 'node:crypto';

export function prefixedSha256(prefix: number, bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(Uint8Array.of(prefix)).update(bytes).digest();
}
