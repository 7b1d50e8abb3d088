/**
 * Content-addressed records on top of the backend's records: a record is found by its identity digest (see
 * record-payload.ts), so storing content already present (whatever the tensor's name, model or format)
 * writes nothing and returns the existing record: exact dedup. Another writer may store the same content at
 * the same time (PostgreSQL): an `append` that finds the key taken reads that record and takes it when it holds
 * the same identity.
 *
 * A dedup hit is only taken once the whole record passes its checksum. A damaged one is passed over, so the put
 * writes a fresh record (on the next free key) and, for exact content, `takeHealed` tells the store which
 * damaged record the fresh one replaces, so other models stored in it can be repointed (self-healing).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { NeurStoreError, conflict, corruption } from '../errors.js';
import type { PayloadCrc, RecordStore, RecordWriter } from '../backend/backend.js';
import {
  MAX_PAYLOAD_HEADER_BYTES, decodePayloadHeader, encodePayloadHead, keyOfDigest, sameDigest,
  type PayloadHeader, type PayloadParts,
} from './record-payload.js';
import { RecycledBuffers } from './recycled-buffers.js';

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

/** The state of one write (`ContentStore.writing`): its record writer and its self-healing bookkeeping. */
interface WriteState {
  readonly writer: RecordWriter;
  /** Damaged records passed over by `find`, by identity (hex), waiting for the fresh copy `add` writes. */
  readonly damaged: Map<string, bigint>;
  /** Records holding a sought identity that `findAll` met: passed over (damaged, replaced) or already offered. */
  readonly seen: Set<bigint>;
  healed: Array<[bigint, bigint]>;
}

export class ContentStore {
  /** Per write, so writes running side by side (where the backend allows it) keep their own state. */
  private readonly write = new AsyncLocalStorage<WriteState>();

  /**
   * Memory a dedup hit's record is read into to check it, used again by the next (fresh memory per record waits
   * for V8's collector: putting a 1 GB model already stored peaked at 233 MB RSS that way, 202 MB this way).
   */
  private readonly checkBuffers = new RecycledBuffers(2, 1 << 20);

  constructor(private readonly records: RecordStore) {}

  /** Runs `fn` as a write through `writer` (inside `Backend.write`): `add`, `replace` and `takeHealed` need one. */
  writing<T>(writer: RecordWriter, fn: () => Promise<T>): Promise<T> {
    return this.write.run({ writer, damaged: new Map(), seen: new Set(), healed: [] }, fn);
  }

  private state(): WriteState {
    const s = this.write.getStore();
    if (!s) throw conflict('content is added only inside a write');
    return s;
  }

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
      if (!(await this.records.has(key))) return;
      const header = await this.headerOrNull(key);
      if (!header || !sameDigest(header.identity, identity)) continue;
      this.write.getStore()?.seen.add(key);
      if (await this.intact(key)) yield { key, header };
      else if (!header.check) this.write.getStore()?.damaged.set(Buffer.from(identity).toString('hex'), key);
    }
    throw corruption('record index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(identity).toString(16)}`);
  }

  /**
   * Marks record `key`, which holds `identity` but cannot be used (it refers to damaged records), as replaced by
   * the next record `add` writes for that identity: `takeHealed` then repoints its users to the fresh one.
   */
  replace(identity: Uint8Array, key: bigint): void {
    this.state().damaged.set(Buffer.from(identity).toString('hex'), key);
  }

  /**
   * Appends a record for content `find` did not find (inside `writing`). A key found taken holds other content
   * (probing goes on), or the same content: a record this write's `findAll` already met was passed over
   * (damaged, or replaced: probing goes on); one it never met was stored by another writer meanwhile and is
   * returned, if intact, as found (`storedBytes` 0).
   */
  async add(parts: PayloadParts): Promise<StoredContent> {
    const state = this.state();
    const head = encodePayloadHead(parts);
    let key = keyOfDigest(parts.identity);
    for (let probe = 0; probe < MAX_PROBES; probe++, key = (key + 1n) & KEY_MASK) {
      let storedBytes = head.length + parts.body.length;
      if (!(await state.writer.append(key, [head, parts.body]))) {
        const header = await this.headerOrNull(key);
        if (!header || !sameDigest(header.identity, parts.identity) || state.seen.has(key) || !(await this.intact(key))) continue;
        storedBytes = 0;
      }
      const hex = Buffer.from(parts.identity).toString('hex');
      const old = state.damaged.get(hex);
      if (old !== undefined && old !== key && !parts.check) state.healed.push([old, key]);
      state.damaged.delete(hex);
      return { key, storedBytes };
    }
    throw corruption('record index', 0, `more than ${MAX_PROBES} records collide on key ${keyOfDigest(parts.identity).toString(16)}`);
  }

  /** Pairs (damaged record, fresh record of the same exact content) written since the last call. */
  takeHealed(): Array<[bigint, bigint]> {
    const state = this.state();
    const out = state.healed;
    state.healed = [];
    state.damaged.clear();
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
    let held: Uint8Array | undefined;
    try {
      await this.records.get(key, (n) => (held = this.checkBuffers.alloc(n)));
      return true;
    } catch (e) {
      if (e instanceof NeurStoreError && e.code === 'CORRUPTION') return false;
      throw e;
    } finally {
      this.checkBuffers.giveBack(held);
    }
  }

  /** A record's payload header alone (codec, base, digests): one small read. */
  async header(key: bigint): Promise<PayloadHeader> {
    return decodePayloadHeader(await this.records.readPrefix(key, MAX_PAYLOAD_HEADER_BYTES), `record ${key.toString(16)}`);
  }

  /**
   * A whole record, checksum-verified by the backend; read into `alloc(n)` when the backend can, its CRC-32
   * computed by `crc` when the backend takes one (see RecordStore.get).
   */
  async read(key: bigint, alloc?: (n: number) => Uint8Array, crc?: PayloadCrc): Promise<ReadRecord> {
    const payload = await this.records.get(key, alloc, crc);
    const header = decodePayloadHeader(payload, `record ${key.toString(16)}`);
    return { header, body: payload.subarray(header.headerBytes) };
  }
}
