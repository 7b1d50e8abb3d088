import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryEnv } from '../env/memory-env.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';
import { TensorEngine } from './tensor-engine.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from './record-format.js';
import { BY_REFERENCE_BYTES } from './segment-writer.js';

const SMALL = { segmentBytes: 64 * 1024, pageBytes: 4096 };

async function fill(engine: TensorEngine, rng: SeededRandom, n: number, oracle: Map<bigint, Uint8Array>): Promise<void> {
  await engine.beginWrite();
  for (let i = 0; i < n; i++) {
    const key = rng.u64();
    const bytes = rng.bytes(rng.int(3) === 0 ? rng.int(20_000) : rng.int(300));
    await engine.append(key, bytes);
    oracle.set(key, bytes);
  }
  await engine.commit();
}

async function assertContents(engine: TensorEngine, oracle: Map<bigint, Uint8Array>): Promise<void> {
  assert.equal(engine.recordCount, oracle.size);
  for (const [k, v] of oracle) assert.deepEqual(await engine.get(k), v, `record ${k}`);
  assert.deepEqual(engine.keys(), [...oracle.keys()].sort((a, b) => (a < b ? -1 : 1)));
}

test('records round-trip across pages and segments, and survive reopening', async () => {
  const env = new MemoryEnv();
  const rng = new SeededRandom(1);
  const oracle = new Map<bigint, Uint8Array>();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await fill(engine, rng, 300, oracle);
  await fill(engine, rng, 100, oracle);
  await assertContents(engine, oracle);
  assert.ok((await env.list('db/segments')).length > 3, 'small segments roll over');
  await engine.close();
  await assertContents(await TensorEngine.open(env, 'db', SMALL), oracle);
});

test('a page mixes small records (copied at once) with large parts (written as they are, before append resolves)', async () => {
  const env = new MemoryEnv();
  const rng = new SeededRandom(21);
  const oracle = new Map<bigint, Uint8Array>();
  const engine = await TensorEngine.open(env, 'db'); // 4 MiB pages: many records share one
  await engine.beginWrite();
  for (let i = 0; i < 60; i++) {
    const key = rng.u64();
    const head = rng.bytes(1 + rng.int(200));
    const body = rng.bytes(i % 3 === 0 ? BY_REFERENCE_BYTES + rng.int(300_000) : rng.int(BY_REFERENCE_BYTES));
    await engine.append(key, [head, body]);
    oracle.set(key, new Uint8Array(Buffer.concat([head, body])));
    body.fill(7); // once append resolves, a caller may reuse the memory of every part, large ones too
    head.fill(7);
  }
  await engine.commit();
  await assertContents(engine, oracle);
  await engine.close();
  await assertContents(await TensorEngine.open(env, 'db'), oracle);
});

test('records are readable before commit, and abort forgets them', async () => {
  const env = new MemoryEnv();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await engine.beginWrite();
  await engine.append(1n, Uint8Array.of(1, 2, 3));
  assert.deepEqual(await engine.get(1n), Uint8Array.of(1, 2, 3));
  await assert.rejects(engine.append(1n, Uint8Array.of(9)), (e) => isNeurStoreError(e, 'CONFLICT'));
  await engine.abort();
  await assert.rejects(engine.get(1n), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  const reopened = await TensorEngine.open(env, 'db', SMALL);
  assert.equal(reopened.recordCount, 0);
});

test('a crash before the manifest switch leaves the previous commit, and the tail is cut on the next write', async () => {
  const env = new MemoryEnv();
  const rng = new SeededRandom(2);
  const oracle = new Map<bigint, Uint8Array>();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await fill(engine, rng, 50, oracle);
  await engine.beginWrite();
  for (let i = 0; i < 20; i++) await engine.append(rng.u64(), rng.bytes(1000));
  // fsync the segment but do not switch the manifest: the worst case for recovery
  const seg = (await env.list('db/segments')).map((n) => `db/segments/${n}`);
  for (const p of seg) await env.syncFile(p);
  const image = env.crashImage({ tornBytes: (_p, n) => Math.floor(n / 2) });
  const after = await TensorEngine.open(image, 'db', SMALL);
  await assertContents(after, oracle);
  const before = await image.fileSize(`db/segments/${(await image.list('db/segments'))[0]}`);
  await after.beginWrite();
  await after.append(7n, Uint8Array.of(7));
  await after.commit();
  oracle.set(7n, Uint8Array.of(7));
  await assertContents(await TensorEngine.open(image, 'db', SMALL), oracle);
  assert.ok(before > 0);
});

test('compaction reclaims dead records and keeps every live one', async () => {
  const env = new MemoryEnv();
  const rng = new SeededRandom(3);
  const oracle = new Map<bigint, Uint8Array>();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await fill(engine, rng, 400, oracle);
  const diskBefore = engine.diskBytes;
  const dead = new Set([...oracle.keys()].filter((_, i) => i % 2 === 0));
  for (const k of dead) oracle.delete(k);
  await engine.beginWrite();
  const r = await engine.compact((k) => !dead.has(k));
  assert.ok(r.segmentsRewritten > 0);
  assert.ok(engine.diskBytes < diskBefore * 0.7, `${engine.diskBytes} < 0.7 * ${diskBefore}`);
  await assertContents(engine, oracle);
  for (const k of dead) await assert.rejects(engine.get(k), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  await assertContents(await TensorEngine.open(env, 'db', SMALL), oracle);
  let onDisk = 0;
  for (const n of await env.list('db/segments')) onDisk += await env.fileSize(`db/segments/${n}`);
  assert.equal(onDisk, engine.diskBytes, 'old segment files are deleted');
});

test('a flipped payload bit is reported as CORRUPTION naming the file and offset', async () => {
  const env = new MemoryEnv();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await engine.beginWrite();
  await engine.append(10n, new Uint8Array(100).fill(5));
  await engine.append(11n, new Uint8Array(100).fill(6));
  await engine.commit();
  const file = `db/segments/${(await env.list('db/segments'))[0]}`;
  const secondRecord = SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 100;
  env.flipBit(file, secondRecord + RECORD_HEADER_BYTES + 50, 3);
  const reopened = await TensorEngine.open(env, 'db', SMALL);
  assert.deepEqual(await reopened.get(10n), new Uint8Array(100).fill(5));
  await assert.rejects(reopened.get(11n), (e: Error) => {
    assert.ok(isNeurStoreError(e, 'CORRUPTION'));
    assert.match(e.message, new RegExp(`${file} at offset ${secondRecord}`));
    return true;
  });
});

test('a flipped header bit is found on open, costs only its record, and is never served as another record', async () => {
  const env = new MemoryEnv();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await engine.beginWrite();
  for (let i = 0n; i < 5n; i++) await engine.append(i, new Uint8Array(10).fill(Number(i)));
  await engine.commit();
  const file = `db/segments/${(await env.list('db/segments'))[0]}`;
  const third = SEGMENT_HEADER_BYTES + 2 * (RECORD_HEADER_BYTES + 10);
  env.flipBit(file, third + 16, 0); // the key field of record 2
  const reopened = await TensorEngine.open(env, 'db', SMALL);
  assert.equal(reopened.damaged.length, 1);
  assert.equal(reopened.damaged[0]!.offset, third);
  assert.equal(reopened.damaged[0]!.length, RECORD_HEADER_BYTES + 10);
  for (const i of [0n, 1n, 3n, 4n]) assert.deepEqual(await reopened.get(i), new Uint8Array(10).fill(Number(i)), `record ${i} after the damage`);
  await assert.rejects(reopened.get(2n), (e) => isNeurStoreError(e, 'CORRUPTION'));
  assert.equal(reopened.has(2n ^ 1n) && reopened.recordCount, 4, 'the damaged key is not indexed under another key');
});

test('compaction refuses to drop a damaged live record', async () => {
  const env = new MemoryEnv();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await engine.beginWrite();
  await engine.append(1n, new Uint8Array(50).fill(1));
  await engine.append(2n, new Uint8Array(50).fill(2));
  await engine.commit();
  const file = `db/segments/${(await env.list('db/segments'))[0]}`;
  env.flipBit(file, SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 10);
  await engine.beginWrite();
  await assert.rejects(engine.compact((k) => k === 1n), (e) => isNeurStoreError(e, 'CORRUPTION'));
  await engine.abort();
  assert.ok(await env.exists(file), 'the segment holding the live record is kept');
  assert.deepEqual(await (await TensorEngine.open(env, 'db', SMALL)).get(2n).catch(() => 'gone'), new Uint8Array(50).fill(2));
});

test('a second engine on the same files catches up with commits it did not make', async () => {
  const env = new MemoryEnv();
  const writer = await TensorEngine.open(env, 'db', SMALL);
  const reader = await TensorEngine.open(env, 'db', SMALL);
  await writer.beginWrite();
  await writer.append(42n, Uint8Array.of(4, 2));
  await writer.commit();
  assert.deepEqual(await reader.get(42n), Uint8Array.of(4, 2));
  await writer.beginWrite();
  await writer.append(43n, Uint8Array.of(4, 3));
  await writer.compact((k) => k !== 42n);
  // the new record is found by catching up; the compacted one is gone once the reader has caught up
  assert.deepEqual(await reader.get(43n), Uint8Array.of(4, 3));
  await assert.rejects(reader.get(42n), (e) => isNeurStoreError(e, 'NOT_FOUND'));
});

test('a record given in parts (an empty one among them) reads back whole and passes its checksum', async () => {
  const env = new MemoryEnv();
  const engine = await TensorEngine.open(env, 'db', SMALL);
  await engine.beginWrite();
  const head = Uint8Array.of(1, 2, 3);
  // An empty view of a zero-byte buffer: node:zlib's crc32 returns 0 for it, not the running value.
  await engine.append(7n, [head, new Uint8Array(new ArrayBuffer(0)), Uint8Array.of(4)]);
  await engine.append(8n, [new Uint8Array(5000).fill(9), new Uint8Array(new ArrayBuffer(0))]); // > a page: written part by part
  await engine.commit();
  const reopened = await TensorEngine.open(env, 'db', SMALL);
  assert.deepEqual(await reopened.get(7n), Uint8Array.of(1, 2, 3, 4));
  assert.deepEqual(await reopened.get(8n), new Uint8Array(5000).fill(9));
});

test('opening reads record headers, not the payloads between them: a jump over a payload reads a small window', async () => {
  let readBytes = 0;
  class CountingEnv extends MemoryEnv {
    override async openRead(path: string): ReturnType<MemoryEnv['openRead']> {
      const f = await super.openRead(path);
      return { ...f, read: (offset, length, into) => ((readBytes += length), f.read(offset, length, into)) };
    }
  }
  const env = new CountingEnv();
  const rng = new SeededRandom(22);
  const oracle = new Map<bigint, Uint8Array>();
  const engine = await TensorEngine.open(env, 'db', { segmentBytes: 1 << 30 });
  await engine.beginWrite();
  for (let i = 0; i < 40; i++) {
    const key = rng.u64();
    const bytes = rng.bytes(i % 4 === 3 ? rng.int(500) : (2 << 20) + rng.int(100_000)); // 2 MiB chunk records, a few small ones
    await engine.append(key, bytes);
    oracle.set(key, bytes);
  }
  await engine.commit();
  await engine.close();
  readBytes = 0;
  const reopened = await TensorEngine.open(env, 'db', { segmentBytes: 1 << 30 });
  const opened = readBytes;
  await assertContents(reopened, oracle);
  // 40 headers, each in a window of at most 64 KiB after a jump (plus the first window of 1 MiB): about 3 MiB, where
  // a 1 MiB window per header read 40 MiB, half the bytes stored.
  assert.ok(opened < 4 << 20, `opening read ${opened} bytes`);
});
