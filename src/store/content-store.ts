/**
 * Content-addressed records on top of the engine: exact dedup. Storing bytes already present (same digest,
 * whatever the tensor's name or model) returns the existing record's key and writes nothing.
 */
import { corruption } from '../errors.js';
import type { TensorEngine } from '../engine/tensor-engine.js';
import {
  PAYLOAD_HEADER_BYTES, RecordKind, contentDigest, decodePayload, encodePayload, keyOfDigest, payloadHasDigest,
} from './record-payload.js';

const KEY_MASK = (1n << 64n) - 1n;
/** Probing past this many colliding keys means the index or the data is broken, not bad luck. */
const MAX_PROBES = 64;

export interface StoredContent {
  readonly key: bigint;
  /** True when this call wrote a new record; false for a dedup hit. */
  readonly isNew: boolean;
  /** Payload bytes written (0 on a hit). */
  readonly storedBytes: number;
}

export class ContentStore {
  constructor(private readonly engine: TensorEngine) {}

  /** Stores `bytes` unless identical content is present. Must run inside an engine write batch. */
  async put(kind: RecordKind, bytes: Uint8Array): Promise<StoredContent> {
    const digest = contentDigest(kind, bytes);
    let key = keyOfDigest(digest);
    for (let probe = 0; probe < MAX_PROBES; probe++, key = (key + 1n) & KEY_MASK) {
      if (!this.engine.has(key)) {
        const payload = encodePayload(kind, digest, bytes, kind === RecordKind.Architecture);
        await this.engine.append(key, payload);
        return { key, isNew: true, storedBytes: payload.length };
      }
      if (payloadHasDigest(await this.engine.readPrefix(key, PAYLOAD_HEADER_BYTES), digest)) {
        return { key, isNew: false, storedBytes: 0 };
      }
    }
    throw corruption('engine index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(digest).toString(16)}`);
  }

  /** The original bytes of a record, verified against its digest. */
  async get(kind: RecordKind, key: bigint): Promise<Uint8Array> {
    return decodePayload(await this.engine.get(key), kind, `record ${key.toString(16)}`);
  }
}
