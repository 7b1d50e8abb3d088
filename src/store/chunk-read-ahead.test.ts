/**
 * The read-ahead shared by a model's chunked tensors, over a fake source whose lists and chunks are a Map (the
 * oracle): bytes come back in order for every tensor whatever order tensors are asked in; decoding runs ahead
 * across tensor boundaries but never more than `ahead` chunks; a later list that does not read fails only its
 * own tensor; a wrong length or a chunk the hash tree does not name is CORRUPTION.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isNeurStoreError, corruption } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import { ChunkReadAhead, MAX_WHOLE_BYTES, type ChunkSource } from './chunk-read-ahead.js';
import { ModelLoader } from './model-loader.js';
import type { TensorRow } from '../catalog/catalog.js';
import type { ChunkList } from './chunk-list.js';

const rng = new SeededRandom(5);
const tree = (size: number, ids: readonly Uint8Array[]): Uint8Array => {
  const h = createHash('sha256').update(String(size));
  for (const id of ids) h.update(id);
  return new Uint8Array(h.digest());
};
const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** Tensors of `chunkCounts[t]` chunks (0: stored whole), as lists keyed 100+t and chunks keyed 1000*t+i. */
function fakeStore(chunkCounts: number[], ahead: number) {
  const chunks = new Map<bigint, Uint8Array>();
  const lists = new Map<bigint, { list: ChunkList; identity: Uint8Array }>();
  const tensors: Uint8Array[][] = [];
  for (const [t, n] of chunkCounts.entries()) {
    const pieces = Array.from({ length: n }, () => rng.bytes(16 + rng.int(16)));
    tensors.push(pieces);
    if (n === 0) continue;
    const refs = pieces.map((p, i) => ({ key: BigInt(1000 * t + i), length: p.length }));
    pieces.forEach((p, i) => chunks.set(BigInt(1000 * t + i), p));
    lists.set(BigInt(100 + t), { list: { chunkBytes: 16, totalBytes: pieces.reduce((s, p) => s + p.length, 0), chunks: refs }, identity: tree(16, pieces.map(sha)) });
  }
  const log = { started: [] as bigint[], inFlight: 0, maxInFlight: 0, brokenList: -1n, wrongLength: -1n, into: 0, recycled: 0 };
  const source: ChunkSource = {
    listOf: async (key) => {
      if (key === log.brokenList) throw corruption(`record ${key}`, 0, 'list damaged');
      return lists.get(key)!;
    },
    decodeChunk: async (key, _verify, into) => {
      log.started.push(key);
      log.maxInFlight = Math.max(log.maxInFlight, ++log.inFlight);
      if (into) log.into++;
      await new Promise((r) => setImmediate(r));
      const bytes = chunks.get(key)!;
      // Decoded into `into` when it is long enough (as the decode pool does), else into fresh memory.
      const out = into && into.byteLength >= bytes.length ? new Uint8Array(into, 0, bytes.length) : new Uint8Array(bytes.length);
      if (out.buffer === into) log.recycled++;
      out.set(bytes);
      return { bytes: key === log.wrongLength ? out.subarray(1) : out, identity: sha(bytes) };
    },
    treeIdentity: tree,
    sameDigest: (a, b) => Buffer.from(a).equals(Buffer.from(b)),
  };
  const keys = chunkCounts.map((n, t) => (n === 0 ? null : BigInt(100 + t)));
  const reader = new ChunkReadAhead(source, keys, ahead);
  /** Reads tensor t whole through the reader (each piece handed out ends its decode's flight). */
  const read = async (t: number, stopAfter = Infinity, reuse = false): Promise<Uint8Array[]> => {
    const out: Uint8Array[] = [];
    for await (const p of reader.pieces(t, reuse)) {
      log.inFlight--;
      // A writer holds the piece while it writes (a few turns of the event loop), then is done with it: a reused
      // piece is overwritten later, so the copy is what was handed out.
      for (let i = 0; reuse && i < 3; i++) await new Promise((r) => setImmediate(r));
      out.push(reuse ? p.slice() : p);
      if (out.length >= stopAfter) break;
    }
    return out;
  };
  return { tensors, reader, read, log };
}

test('tensors read in order come back exact, decoding ahead across tensor boundaries, at most `ahead` at a time', async () => {
  const { tensors, read, log } = fakeStore([3, 0, 1, 2, 0, 5], 3);
  assert.deepEqual(await read(0), tensors[0]);
  // Tensor 0's last chunk was handed out: the chunks after it (tensors 2 and 3) are already decoding.
  assert.deepEqual(log.started.slice(3), [2000n, 3000n, 3001n], 'the read-ahead crossed into the next tensors');
  for (const t of [2, 3, 5]) assert.deepEqual(await read(t), tensors[t], `tensor ${t}`);
  assert.ok(log.maxInFlight <= 4, `decodes in flight ${log.maxInFlight} (ahead 3, plus the one handed out)`);
  assert.equal(log.started.length, 11, 'every chunk decoded once');
  assert.equal(log.into, 0, 'pieces the caller may keep are never decoded into again');
});

test('a caller that is done with each piece (reuse) gets later chunks decoded into the memory of earlier ones, exact', async () => {
  const { tensors, read, log } = fakeStore([6, 0, 3, 5, 2], 2);
  for (const t of [0, 2, 3, 4]) assert.deepEqual(await read(t, Infinity, true), tensors[t], `tensor ${t}`);
  assert.ok(log.recycled > 0, `${log.recycled} of ${log.into} chunks decoded into recycled memory`);
});

test('tensors asked out of order, or left half read, restart the read-ahead and still come back exact', async () => {
  const { tensors, read } = fakeStore([2, 4, 3, 1], 2);
  assert.deepEqual(await read(2), tensors[2]);
  assert.deepEqual(await read(0), tensors[0]);
  assert.deepEqual(await read(1, 2), tensors[1]!.slice(0, 2), 'half of tensor 1');
  assert.deepEqual(await read(3), tensors[3], 'the tensor after a half-read one');
  assert.deepEqual(await read(1), tensors[1], 'a tensor read again');
  await assert.rejects(async () => read(4), RangeError);
});

test('a later list that does not read fails its own tensor only; a wrong length or a chunk off the hash tree is CORRUPTION', async () => {
  const a = fakeStore([2, 2, 2], 4);
  a.log.brokenList = 101n;
  assert.deepEqual(await a.read(0), a.tensors[0], 'tensor 0 is whole although the read-ahead met the damaged list');
  await assert.rejects(a.read(1), (e) => isNeurStoreError(e, 'CORRUPTION') && /list damaged/.test(e.message));
  assert.deepEqual(await a.read(2), a.tensors[2], 'the tensor after it');

  const b = fakeStore([2, 2], 4);
  b.log.wrongLength = 1001n;
  await assert.rejects(b.read(1), (e) => isNeurStoreError(e, 'CORRUPTION') && /chunk 1 decoded to/.test(e.message));

  const c = fakeStore([2], 4);
  const flipped = c.tensors[0]![1]!; // the source's chunk is this array: it now decodes to other bytes
  flipped[0] = flipped[0]! ^ 1;
  const pieces = c.reader.pieces(0);
  await assert.rejects(async () => {
    for await (const p of pieces) void p;
  }, (e) => isNeurStoreError(e, 'CORRUPTION') && /hash tree/.test(e.message));
});

test('a tensor larger than one array can hold is NOT_SUPPORTED to load or read whole, named, before anything is decoded', async () => {
  const total = MAX_WHOLE_BYTES + 16;
  let decoded = 0;
  const source: ChunkSource = {
    listOf: async () => ({ list: { chunkBytes: 16, totalBytes: total, chunks: [{ key: 1n, length: 16 }] }, identity: new Uint8Array(32) }),
    decodeChunk: async () => {
      decoded++;
      return { bytes: new Uint8Array(16), identity: new Uint8Array(32) };
    },
    treeIdentity: () => new Uint8Array(32),
    sameDigest: () => true,
  };
  await assert.rejects(new ChunkReadAhead(source, [7n], 2).whole(0), (e: unknown) => {
    assert.ok(isNeurStoreError(e, 'NOT_SUPPORTED'));
    assert.match(e.message, new RegExp(`record 7 holds ${total} bytes.*can be streamed \\(get`));
    return true;
  });
  assert.equal(decoded, 0);
  const row: TensorRow = { index: 0, name: 'model.embed_tokens.weight', dtype: 'BF16', shape: [total / 2], byteLength: total, recordKey: 7n, storedAs: 'lossless', codec: 'chunked', depth: 0, storedBytes: 0, bits: 16, maxError: 0 };
  const loader = new ModelLoader({} as never, {} as never, () => () => assert.fail('no bytes are read'));
  await assert.rejects(loader.load([row], 0, { mode: 'exact' }).next(), /tensor 'model.embed_tokens.weight' holds \d+ bytes/);
});
