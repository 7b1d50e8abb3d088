/**
 * How the store frames what it keeps in engine records, and how it derives their keys.
 *
 *   payload  := version:u8 (=1) | kind:u8 | codec:u8 | flags:u8 | identity[32] | check[32]? | base? | body
 *   base     := base-key:u64 | base-view:u8 (how the base's decoded bytes are read: 0 F32, 1 F16, 2 BF16 values,
 *               3 raw bytes) | depth:u8 (this record's delta-chain length, >= 1), present when flags has BASE
 *   kind     := 1 architecture | 2 tensor | 3 base8 (the paper's 8-bit base tensor) | 4 chunk (a piece of a large
 *               tensor, see chunk-list.ts)
 *   codec    := 0 raw | 1 zstd | 2 lossless (codecs/lossless) | 3 group delta (default mode)
 *               | 4 paper delta | 5 quant8 (body: min:f32 | scale:f32 | codes)
 *               | 16 chunk list (a tensor stored as chunk records: body in chunk-list.ts)
 *   flags    := bit 0 LOSSY: `check` follows | bit 1 BASE: `base-key` follows (the record it decodes against)
 *   identity := SHA-256 of (kind || bytes) for exact records; of (kind || mode || tolerance || bytes) for lossy
 *               ones, so the same tensor put again in the same mode dedups, and an exact copy serves any mode
 *   check    := SHA-256 of (kind || decoded bytes), verified after every lossy decode (exact records verify
 *               against identity)
 *
 * A record's key is the identity's first 8 bytes (little-endian u64); when two different contents share them
 * (about one pair in 4e18) the later one probes key+1, key+2... (see `ContentStore`).
 */
import { createHash } from 'node:crypto';
import { corruption } from '../errors.js';
import { prefixedSha256 } from '../codecs/prefixed-digest.js';

export const PAYLOAD_VERSION = 1;
/** Bytes of the longest header (identity, check and base key): what a prefix read must fetch. */
export const MAX_PAYLOAD_HEADER_BYTES = 4 + 32 + 32 + 10;

/** How a delta record reads its base's decoded bytes. */
export type BaseView = 'F32' | 'F16' | 'BF16' | 'bytes';
const BASE_VIEWS: readonly BaseView[] = ['F32', 'F16', 'BF16', 'bytes'];

export enum RecordKind {
  Architecture = 1,
  Tensor = 2,
  Base8 = 3,
  Chunk = 4,
}

export enum Codec {
  Raw = 0,
  Zstd = 1,
  Lossless = 2,
  GroupDelta = 3,
  PaperDelta = 4,
  Quant8 = 5,
  ChunkList = 16,
}

const FLAG_LOSSY = 1;
const FLAG_BASE = 2;

/** The record a delta decodes against, how it reads it, and the delta chain's length up to this record. */
export interface BaseRef {
  readonly key: bigint;
  readonly view: BaseView;
  readonly depth: number;
}

export interface PayloadHeader {
  readonly kind: RecordKind;
  readonly codec: Codec;
  readonly identity: Uint8Array;
  /** Digest of the decoded bytes of a lossy record; undefined for exact records. */
  readonly check?: Uint8Array;
  readonly base?: BaseRef;
  /** Bytes before the body. */
  readonly headerBytes: number;
}

export interface PayloadParts {
  readonly kind: RecordKind;
  readonly codec: Codec;
  readonly identity: Uint8Array;
  readonly check?: Uint8Array;
  readonly base?: BaseRef;
  readonly body: Uint8Array;
}

/** The identity of exact content. */
export function exactIdentity(kind: RecordKind, bytes: Uint8Array): Uint8Array {
  return prefixedSha256(kind, bytes);
}

/** The identity of a lossy encoding of `bytes`: depends on the mode and tolerance that made it. */
export function lossyIdentity(kind: RecordKind, mode: string, tolerance: number, bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(Uint8Array.of(kind)).update(`${mode}:${tolerance}`).update(bytes).digest();
}

/**
 * The identity of a lossy encoding of content whose exact identity is `exact` (chunks: their exact identity is
 * taken anyway, and hashing 8 MiB a second time cost a 1 GB default-mode put ~2.3 CPU s on the reading thread).
 */
export function lossyIdentityOf(kind: RecordKind, mode: string, tolerance: number, exact: Uint8Array): Uint8Array {
  return createHash('sha256').update(Uint8Array.of(kind)).update(`${mode}:${tolerance}:of-exact:`).update(exact).digest();
}

export function keyOfDigest(digest: Uint8Array): bigint {
  return Buffer.from(digest.buffer, digest.byteOffset, 8).readBigUInt64LE(0);
}

export function encodePayload(p: PayloadParts): Uint8Array {
  return Buffer.concat([encodePayloadHead(p), p.body]);
}

/** The payload's bytes before the body: a record is written as this and the body, without joining them. */
export function encodePayloadHead(p: PayloadParts): Uint8Array {
  const flags = (p.check ? FLAG_LOSSY : 0) | (p.base ? FLAG_BASE : 0);
  const out = Buffer.allocUnsafe(4 + 32 + (p.check ? 32 : 0) + (p.base ? 10 : 0));
  out[0] = PAYLOAD_VERSION;
  out[1] = p.kind;
  out[2] = p.codec;
  out[3] = flags;
  out.set(p.identity, 4);
  let at = 36;
  if (p.check) {
    out.set(p.check, at);
    at += 32;
  }
  if (p.base) {
    out.writeBigUInt64LE(p.base.key, at);
    out[at + 8] = BASE_VIEWS.indexOf(p.base.view);
    out[at + 9] = p.base.depth;
  }
  return out;
}

/** Parses a payload header (from a prefix or a whole payload); CORRUPTION naming `where` when malformed. */
export function decodePayloadHeader(payload: Uint8Array, where: string): PayloadHeader {
  if (payload.length < 36 || payload[0] !== PAYLOAD_VERSION) {
    throw corruption(where, 0, `record payload has version ${payload[0]}, expected ${PAYLOAD_VERSION}`);
  }
  const flags = payload[3]!;
  let at = 36;
  const check = flags & FLAG_LOSSY ? payload.subarray(at, (at += 32)) : undefined;
  let base: PayloadHeader['base'];
  if (flags & FLAG_BASE) {
    if (payload.length < at + 10) throw corruption(where, at, 'record payload is cut inside its header');
    const view = BASE_VIEWS[payload[at + 8]!];
    if (!view) throw corruption(where, at + 8, `unknown base view ${payload[at + 8]}`);
    base = { key: Buffer.from(payload.buffer, payload.byteOffset, payload.length).readBigUInt64LE(at), view, depth: payload[at + 9]! };
    at += 10;
  }
  if (payload.length < at) throw corruption(where, 36, 'record payload is cut inside its header');
  return { kind: payload[1] as RecordKind, codec: payload[2] as Codec, identity: payload.subarray(4, 36), check, base, headerBytes: at };
}

export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
