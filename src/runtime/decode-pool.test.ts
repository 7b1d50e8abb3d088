// The decode pool gives the same bytes and digests as decoding inline, for every codec, on the workers and
// inline; errors keep their code across the thread boundary; a closed pool starts again when used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compress } from 'zstd-napi';
import { SeededRandom } from '../env/seeded-random.js';
import { encodeLossless } from '../codecs/lossless.js';
import { encodeGroupDelta } from '../codecs/group-delta.js';
import { encodeGroupChunk } from '../codecs/group-chunk.js';
import { toBf16Bits } from '../codecs/half-float.js';
import { encodePaperDelta } from '../codecs/paper-delta.js';
import { isNeurStoreError } from '../errors.js';
import { DecodePool } from './decode-pool.js';
import { decodeBody, decodedBytes, type DecodeJob } from './body-decoder.js';

const rng = new SeededRandom(61);
const N = 200_000;
const base = new Float32Array(new SharedArrayBuffer(N * 4));
for (let i = 0; i < N; i++) base[i] = rng.gaussian() * 0.05;
const x = base.map((v) => v + rng.gaussian() * 0.002);
const xBytes = new Uint8Array(x.buffer);
const baseBytes = new Uint8Array(base.buffer);

const jobs: DecodeJob[] = [
  { codec: 'raw', body: xBytes, base: null, dtype: 'F32', digestPrefix: 1 },
  { codec: 'zstd', body: compress(xBytes), base: null, dtype: 'F32', digestPrefix: 1 },
  { codec: 'lossless', body: encodeLossless(xBytes, 4, baseBytes), base: baseBytes, dtype: 'F32', digestPrefix: 1 },
  { codec: 'group-delta', body: encodeGroupDelta(x, base, 1e-3), base, dtype: 'F32', digestPrefix: 1 },
  { codec: 'paper-delta', body: encodePaperDelta(x, base, 1e-3), base, dtype: 'F32', digestPrefix: 1 },
];

for (const workers of [0, 2]) {
  test(`${workers} workers: every codec decodes as inline decoding does, digest included`, async () => {
    const pool = new DecodePool({ workers, inlineBytes: 1024 });
    try {
      await pool.ready();
      const results = await Promise.all(jobs.map((j) => pool.decode(j)));
      for (const [i, r] of results.entries()) {
        const want = decodeBody(jobs[i]!);
        assert.ok(r.bytes.buffer instanceof SharedArrayBuffer, `${jobs[i]!.codec}: result in shared memory`);
        assert.deepEqual(Buffer.from(r.bytes), Buffer.from(want.bytes), jobs[i]!.codec);
        const digest = createHash('sha256').update(Uint8Array.of(1)).update(r.bytes).digest();
        assert.deepEqual(Buffer.from(r.digest!), digest);
      }
      // The exact codecs give back the original bytes.
      for (const r of results.slice(0, 3)) assert.ok(Buffer.from(r.bytes).equals(xBytes));
    } finally {
      await pool.close();
    }
  });
}

for (const workers of [0, 2]) {
  test(`${workers} workers: owned jobs give the same bytes in a buffer of their own, moved in and back, digest only when asked`, async () => {
    const pool = new DecodePool({ workers, inlineBytes: 1024 });
    try {
      await pool.ready();
      for (const [i, j] of jobs.entries()) {
        // Body (and base) in ordinary memory of their own, as a chunk read from a file is: the pool moves them.
        const body = new Uint8Array(j.body);
        const base = j.base && (j.base instanceof Float32Array ? new Float32Array(j.base) : new Uint8Array(j.base));
        for (const digest of [false, true]) {
          const r = await pool.decode({ ...j, body: new Uint8Array(body), base: base && (base.slice() as typeof base), digest, owned: true }, true);
          const want = decodeBody(jobs[i]!);
          assert.ok(r.bytes.buffer instanceof ArrayBuffer && r.bytes.byteOffset === 0 && r.bytes.byteLength === r.bytes.buffer.byteLength, `${j.codec}: a buffer of its own`);
          assert.deepEqual(Buffer.from(r.bytes), Buffer.from(want.bytes), j.codec);
          if (digest) assert.deepEqual(Buffer.from(r.digest!), Buffer.from(want.digest!), `${j.codec}: digest`);
          else assert.equal(r.digest, null, `${j.codec}: no digest asked, none computed`);
        }
        if (workers > 0 && j.codec !== 'raw' && body.byteLength >= 64 * 1024) {
          const moved = new Uint8Array(body);
          await pool.decode({ ...j, body: moved, owned: true, digest: false }, true);
          assert.equal(moved.byteLength, 0, `${j.codec}: the body's buffer was moved to the worker, not copied`);
        }
      }
    } finally {
      await pool.close();
    }
  });
}

test('a corrupt body fails with INVALID_ARGUMENT from a worker; the pool works on, and again after close', async () => {
  const pool = new DecodePool({ workers: 2, inlineBytes: 0 });
  try {
    await pool.ready();
    const good = jobs[3]!;
    const bad = { ...good, body: good.body.slice(0, good.body.length >> 1) };
    await assert.rejects(pool.decode(bad), (e: unknown) => isNeurStoreError(e) && e.code === 'INVALID_ARGUMENT');
    const r = await pool.decode(good);
    assert.deepEqual(Buffer.from(r.bytes), Buffer.from(decodeBody(good).bytes));
    await pool.close();
    const first = await pool.decode(good); // workers starting again: decoded inline meanwhile
    assert.equal(first.bytes.length, N * 4);
    await pool.ready();
    const again = await pool.decode(good);
    assert.equal(again.bytes.length, N * 4);
  } finally {
    await pool.close();
  }
});

test('decodedBytes reads the decoded size from the lossless and delta headers (raw, zstd and bad headers: the body length)', () => {
  for (const job of jobs) {
    const headed = job.codec === 'lossless' || job.codec === 'group-delta' || job.codec === 'paper-delta';
    assert.equal(decodedBytes(job), headed ? decodeBody(job).bytes.length : job.body.length, job.codec);
  }
  const garbage = { ...jobs[3]!, body: Uint8Array.of(1, 2, 3) };
  assert.equal(decodedBytes(garbage), 3);
});

test('owned jobs decode into a caller-provided buffer (`into`), moved to the worker and back, and recycled', async () => {
  // bf16 chunks as chunked-tensors stores them: lossless alone, lossless XOR a base, group-delta against a base.
  const n = 150_000;
  const bits = (v: Float32Array) => new Uint8Array(Uint16Array.from(v, (f) => toBf16Bits(f)).buffer);
  const baseBf = bits(base.subarray(0, n));
  const xBf = bits(x.subarray(0, n));
  const group = encodeGroupChunk(xBf, baseBf, 'BF16', 1e-3, 1).body;
  const bf16Jobs: DecodeJob[] = [
    { codec: 'lossless', body: encodeLossless(xBf, 2, null), base: null, dtype: 'U8', digestPrefix: 1, digest: false },
    { codec: 'lossless', body: encodeLossless(xBf, 2, baseBf), base: baseBf, dtype: 'U8', digestPrefix: 1, digest: true },
    { codec: 'group-delta', body: group, base: new Uint16Array(baseBf.buffer), dtype: 'BF16', digestPrefix: 1, digest: true },
  ];
  for (const workers of [0, 2]) {
    const pool = new DecodePool({ workers, inlineBytes: 1024 });
    try {
      await pool.ready();
      let recycled: ArrayBuffer | null = null;
      for (const j of bf16Jobs) {
        const want = decodeBody({ ...j, owned: true });
        for (const extra of [0, 4096, -2, 'recycled'] as const) {
          const into: ArrayBuffer = extra === 'recycled' ? recycled! : new ArrayBuffer(2 * n + extra);
          const length: number = into.byteLength;
          const copy = { ...j, body: new Uint8Array(j.body), base: j.base && (j.base.slice() as typeof j.base) };
          const r = await pool.decode({ ...copy, owned: true, into }, true);
          const what = `${workers} workers, ${j.codec}${j.base ? ' with base' : ''}, into ${extra}`;
          assert.deepEqual(Buffer.from(r.bytes), Buffer.from(want.bytes), what);
          assert.deepEqual(r.digest && Buffer.from(r.digest), want.digest && Buffer.from(want.digest), `${what}: digest`);
          assert.equal(r.bytes.byteOffset, 0, what);
          if (extra === -2) {
            // Too short: decoded into a fresh buffer of its own.
            assert.equal(r.bytes.buffer.byteLength, 2 * n, what);
            continue;
          }
          // The same memory came back: moved to the worker (detached here), or the very buffer inline.
          assert.equal(r.bytes.buffer.byteLength, length, what);
          if (workers > 0) assert.equal(into.byteLength, 0, `${what}: moved, not copied`);
          else assert.equal(r.bytes.buffer, into, what);
          recycled = r.bytes.buffer as ArrayBuffer;
        }
      }
    } finally {
      await pool.close();
    }
  }
});

test('a handBack job decoded on a worker moves its record buffers back unchanged, with the bytes it decodes to', async () => {
  const pool = new DecodePool({ workers: 1, inlineBytes: 0 });
  try {
    await pool.ready();
    const root = encodeLossless(baseBytes, 4, null);
    const top = encodeLossless(xBytes, 4, baseBytes);
    // Records as the store reads them: a payload (here 16 header bytes) in a buffer of its own, the body a view.
    const record = (body: Uint8Array): Uint8Array => {
      const payload = new Uint8Array(16 + body.length);
      payload.set(body, 16);
      return payload.subarray(16);
    };
    const [b, r] = [record(top), record(root)];
    const copies = [b.buffer.slice(0), r.buffer.slice(0)];
    const result = await pool.decode({ codec: 'lossless', body: b, base: null, baseChain: [r], dtype: 'U8', digestPrefix: 3, owned: true, handBack: true }, true);
    assert.ok(Buffer.from(result.bytes).equals(Buffer.from(xBytes)), 'decoded through the chain');
    assert.equal(b.buffer.byteLength, 0, 'the record was moved to the worker');
    assert.deepEqual(result.bodies?.map((x) => Buffer.from(x)), copies.map((x) => Buffer.from(x)), 'both records handed back as they were');
    const kept = await pool.decode({ codec: 'lossless', body: record(top), base: baseBytes.slice(), dtype: 'U8', digestPrefix: 3, owned: true }, true);
    assert.equal(kept.bodies, undefined, 'not asked: nothing handed back');
  } finally {
    await pool.close();
  }
});

test('crc32 equals zlib\'s, on a worker for large shared memory and inline otherwise, and leaves the bytes alone', async () => {
  const { crc32 } = await import('node:zlib');
  const pool = new DecodePool({ workers: 2 });
  const none = new DecodePool({ workers: 0 });
  try {
    await pool.ready();
    for (const n of [0, 1000, 3 << 20]) {
      const plain = rng.bytes(n);
      const shared = new Uint8Array(new SharedArrayBuffer(n + 7)).subarray(7);
      shared.set(plain);
      for (const bytes of [plain, shared, shared.subarray(3)]) {
        const want = crc32(bytes);
        assert.equal(await pool.crc32(bytes), want, `${n} bytes, ${bytes.buffer.constructor.name} at ${bytes.byteOffset}`);
        assert.equal(await none.crc32(bytes), want, `${n} bytes without workers`);
      }
      assert.deepEqual(shared, plain, 'unchanged');
    }
  } finally {
    await pool.close();
    await none.close();
  }
});
