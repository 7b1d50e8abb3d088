/**
 * Content-addressed records on top of the engine: a record is found by its identity digest (see
 * record-payload.ts), so storing content already present (whatever the tensor's name, model or format)
 * writes nothing and returns the existing record: exact dedup.
 *
 * A dedup hit is only taken once the whole record passes its checksum. A damaged one is passed over, so the put
 * writes a fresh record (on the next free key) and, for exact content, `takeHealed` tells the store which
 * damaged record the fresh one replaces, so other models stored in it can be repointed (self-healing).
 */
import { NeurStoreError, corruption } from '../errors.js';
import type { TensorEngine } from '../engine/tensor-engine.js';
import {
  MAX_PAYLOAD_HEADER_BYTES, decodePayloadHeader, encodePayloadHead, keyOfDigest, sameDigest,
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
  /** Damaged records passed over by `find`, by identity (hex), waiting for the fresh copy `add` writes. */
  private readonly damaged = new Map<string, bigint>();
  private healed: Array<[bigint, bigint]> = [];

  constructor(private readonly engine: TensorEngine) {}

  /** The intact record holding `identity`, if any (verifies the whole record: see the file comment). */
  async find(identity: Uint8Array): Promise<FoundRecord | undefined> {
    for await (const found of this.findAll(identity)) return found;
    return undefined;
  }

  /**
   * Every intact record holding `identity`, in probe order (usually one; more after self-healing wrote a fresh
   * copy beside a record that holds the same identity but refers to damaged parts, as a chunk list can).
   */
  async *findAll(identity: Uint8Array): AsyncGenerator<FoundRecord> {
    let key = keyOfDigest(identity);
    for (let probe = 0; probe < MAX_PROBES; probe++, key = (key + 1n) & KEY_MASK) {
      if (!this.engine.has(key)) return;
      const header = await this.headerOrNull(key);
      if (!header || !sameDigest(header.identity, identity)) continue;
      if (await this.intact(key)) yield { key, header };
      else if (!header.check) this.damaged.set(Buffer.from(identity).toString('hex'), key);
    }
    throw corruption('engine index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(identity).toString(16)}`);
  }

  /**
   * Marks record `key`, which holds `identity` but cannot be used (it refers to damaged records), as replaced by
   * the next record `add` writes for that identity: `takeHealed` then repoints its users to the fresh one.
   */
  replace(identity: Uint8Array, key: bigint): void {
    this.damaged.set(Buffer.from(identity).toString('hex'), key);
  }

  /** Appends a record for content `find` did not find. Must run inside an engine write batch. */
  async add(parts: PayloadParts): Promise<StoredContent> {
    let key = keyOfDigest(parts.identity);
    for (let probe = 0; probe < MAX_PROBES; probe++, key = (key + 1n) & KEY_MASK) {
      if (this.engine.has(key)) continue;
      const payload = [encodePayloadHead(parts), parts.body];
      await this.engine.append(key, payload);
      const hex = Buffer.from(parts.identity).toString('hex');
      const old = this.damaged.get(hex);
      if (old !== undefined && !parts.check) this.healed.push([old, key]);
      this.damaged.delete(hex);
      return { key, storedBytes: payload[0]!.length + parts.body.length };
    }
    throw corruption('engine index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(parts.identity).toString(16)}`);
  }

  /** Pairs (damaged record, fresh record of the same exact content) written since the last call. */
  takeHealed(): Array<[bigint, bigint]> {
    const out = this.healed;
    this.healed = [];
    this.damaged.clear();
    return out;
  }

  private async headerOrNull(key: bigint): Promise<PayloadHeader | null> {
    try {
      return await this.header(key);
    } catch (e) {
      if (e instanceof NeurStoreError && e.code === 'CORRUPTION') return null;
      throw e;
    }
  }

  private async intact(key: bigint): Promise<boolean> {
    try {
      await this.engine.get(key);
      return true;
    } catch (e) {
      if (e instanceof NeurStoreError && e.code === 'CORRUPTION') return false;
      throw e;
    }
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
