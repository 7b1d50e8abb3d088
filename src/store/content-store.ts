/**
 * Content-addressed records on top of the engine: a record is found by its identity digest (see
 * record-payload.ts), so storing content already present (whatever the tensor's name, model or format)
 * writes nothing and returns the existing record: exact dedup.
 */
import { corruption } from '../errors.js';
import type { TensorEngine } from '../engine/tensor-engine.js';
import {
  MAX_PAYLOAD_HEADER_BYTES, decodePayloadHeader, encodePayload, keyOfDigest, sameDigest,
  type PayloadHeader, type PayloadParts,
} from './record-payload.js';

const KEY_MASK = (1n << 64n) - 1n;
/** Probing past this many colliding keys means the index or the data is broken, not bad luck. */
const MAX_PROBES = 64;

export interface FoundRecord {
  readonly key: bigint;
  readonly header: PayloadHeader;
}

export interface StoredContent {
  readonly key: bigint;
  /** Payload bytes written. */
  readonly storedBytes: number;
}

export interface ReadRecord {
  readonly header: PayloadHeader;
  readonly body: Uint8Array;
}

export class ContentStore {
  constructor(private readonly engine: TensorEngine) {}

  /** The record holding `identity`, if any (reads only payload headers). */
  async find(identity: Uint8Array): Promise<FoundRecord | undefined> {
    let key = keyOfDigest(identity);
    for (let probe = 0; probe < MAX_PROBES; probe++, key = (key + 1n) & KEY_MASK) {
      if (!this.engine.has(key)) return undefined;
      const header = decodePayloadHeader(await this.engine.readPrefix(key, MAX_PAYLOAD_HEADER_BYTES), `record ${key.toString(16)}`);
      if (sameDigest(header.identity, identity)) return { key, header };
    }
    throw corruption('engine index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(identity).toString(16)}`);
  }

  /** Appends a record for content `find` did not find. Must run inside an engine write batch. */
  async add(parts: PayloadParts): Promise<StoredContent> {
    let key = keyOfDigest(parts.identity);
    for (let probe = 0; probe < MAX_PROBES; probe++, key = (key + 1n) & KEY_MASK) {
      if (this.engine.has(key)) continue;
      const payload = encodePayload(parts);
      await this.engine.append(key, payload);
      return { key, storedBytes: payload.length };
    }
    throw corruption('engine index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(parts.identity).toString(16)}`);
  }

  /** A record's payload header alone (codec, base, digests): one small read. */
  async header(key: bigint): Promise<PayloadHeader> {
    return decodePayloadHeader(await this.engine.readPrefix(key, MAX_PAYLOAD_HEADER_BYTES), `record ${key.toString(16)}`);
  }

  /** A whole record, checksum-verified by the engine. */
  async read(key: bigint): Promise<ReadRecord> {
    const payload = await this.engine.get(key);
    const header = decodePayloadHeader(payload, `record ${key.toString(16)}`);
    return { header, body: payload.subarray(header.headerBytes) };
  }
}
