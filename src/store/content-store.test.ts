/**
 * ContentStore.add when another writer got there first (PostgreSQL lets writers run side by side): an append
 * that finds the key taken by the same content takes that record (nothing stored); by other content, probing
 * goes on to the next key. Over a Map of records (the oracle), with a writer that lets "another process" append.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notFound } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import type { Damage, RecordStore, RecordWriter } from '../backend/backend.js';
import { ContentStore } from './content-store.js';
import { Codec, RecordKind, encodePayloadHead, exactIdentity, keyOfDigest, type PayloadParts } from './record-payload.js';

class MapRecords implements RecordStore, RecordWriter {
  readonly map = new Map<bigint, Uint8Array>();
  /** Runs once before the next append: another writer's commit landing meanwhile. */
  before: (() => void) | null = null;

  async has(key: bigint): Promise<boolean> {
    return this.map.has(key);
  }
  async get(key: bigint): Promise<Uint8Array> {
    const v = this.map.get(key);
    if (!v) throw notFound(`record ${key}`);
    return v;
  }
  async readPrefix(key: bigint, length: number): Promise<Uint8Array> {
    return (await this.get(key)).subarray(0, length);
  }
  async damaged(): Promise<readonly Damage[]> {
    return [];
  }
  async refresh(): Promise<void> {}
  async stats(): Promise<{ records: number; bytes: number }> {
    return { records: this.map.size, bytes: 0 };
  }
  async append(key: bigint, payload: Uint8Array | readonly Uint8Array[]): Promise<boolean> {
    this.before?.();
    this.before = null;
    if (this.map.has(key)) return false;
    this.map.set(key, Buffer.concat(payload instanceof Uint8Array ? [payload] : [...payload]));
    return true;
  }
  async reclaim(): Promise<{ recordsDropped: number; bytesReclaimed: number }> {
    return { recordsDropped: 0, bytesReclaimed: 0 };
  }
}

const rng = new SeededRandom(5);
const parts = (body: Uint8Array): PayloadParts => ({ kind: RecordKind.Tensor, codec: Codec.Raw, identity: exactIdentity(RecordKind.Tensor, body), body });
const payload = (p: PayloadParts): Uint8Array => Buffer.concat([encodePayloadHead(p), p.body]);

test('add takes the record another writer stored meanwhile for the same content, storing nothing', async () => {
  const records = new MapRecords();
  const content = new ContentStore(records);
  const p = parts(rng.bytes(100));
  const key = keyOfDigest(p.identity);
  assert.equal(await content.find(p.identity), undefined);
  records.before = () => records.map.set(key, payload(p)); // the other writer commits between find and add
  const added = await content.writing(records, () => content.add(p));
  assert.deepEqual(added, { key, storedBytes: 0 });
  assert.equal(records.map.size, 1);
  assert.ok(Buffer.from((await content.read(key)).body).equals(p.body));
});

test('add probes past a key another writer took for other content', async () => {
  const records = new MapRecords();
  const content = new ContentStore(records);
  const p = parts(rng.bytes(100));
  const other = parts(rng.bytes(50));
  const key = keyOfDigest(p.identity);
  records.before = () => records.map.set(key, payload(other)); // a colliding key, other content
  const added = await content.writing(records, () => content.add(p));
  assert.equal(added.key, key + 1n);
  assert.ok(added.storedBytes > p.body.length);
  assert.ok(Buffer.from((await content.read(key + 1n)).body).equals(p.body));
  assert.deepEqual((await content.find(p.identity))?.key, key + 1n);
});

test('add outside a write is refused', async () => {
  const content = new ContentStore(new MapRecords());
  await assert.rejects(content.add(parts(rng.bytes(8))), (e: Error & { code?: string }) => e.code === 'CONFLICT');
});
