/**
 * The encode pool gives the same bodies on its workers as inline, for lossless and group-quantized chunks, and a
 * group-quantized chunk's reported error and digest are those of what it decodes to (oracle: decodeGroupDelta
 * and SHA-256 computed here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeGroupDelta } from '../codecs/group-delta.js';
import { encodeLossless } from '../codecs/lossless.js';
import { fromDTypeBytes, toDTypeBytes } from '../codecs/half-float.js';
import { SeededRandom } from '../env/seeded-random.js';
import { maxAbsError } from '../store/tensor-values.js';
import { EncodePool, type EncodeJob } from './encode-pool.js';

const rng = new SeededRandom(5);
const n = 50_000;
const base = new Float32Array(n).map(() => rng.gaussian() * 0.02);
const tuned = base.map((v) => v + rng.gaussian() * 0.001);
const bf16 = (v: Float32Array): Uint8Array => toDTypeBytes(v, 'BF16');

test('workers and inline code chunks identically; group chunks report the error and digest of what they decode to', async () => {
  const workers = new EncodePool(2);
  const inline = new EncodePool(0);
  try {
    const jobs = (): EncodeJob[] => [
      { bytes: bf16(tuned), width: 2, base: null },
      { bytes: bf16(tuned), width: 2, base: bf16(base) },
      { bytes: bf16(tuned), width: 1, base: bf16(base), group: { dtype: 'BF16', tol: 1e-3, digestPrefix: 4 } },
      { bytes: bf16(tuned), width: 1, base: null, group: { dtype: 'BF16', tol: 1e-3, digestPrefix: 4 } },
    ];
    const a = await Promise.all(jobs().map((j) => workers.encode(j)));
    const b = await Promise.all(jobs().map((j) => inline.encode(j)));
    for (let i = 0; i < a.length; i++) assert.deepEqual(Buffer.from(a[i]!.body), Buffer.from(b[i]!.body), `job ${i}: same body`);
    for (const [i, r] of a.entries()) {
      if (i < 2) continue;
      const x = fromDTypeBytes(bf16(tuned), 'BF16');
      const decoded = decodeGroupDelta(r.body, i === 2 ? fromDTypeBytes(bf16(base), 'BF16') : null).values;
      assert.equal(r.maxError, maxAbsError(x, decoded));
      assert.ok(r.maxError! <= 1e-3 && r.maxError! > 0);
      const digest = createHash('sha256').update(Uint8Array.of(4)).update(toDTypeBytes(decoded, 'BF16')).digest();
      assert.deepEqual(Buffer.from(r.digest!), digest);
    }
  } finally {
    await workers.close();
    await inline.close();
  }
});

test('a base given as its lossless chain (root first) codes as the base itself would, on workers and inline', async () => {
  const mid = base.map((v) => v + rng.gaussian() * 0.001);
  const chain = [encodeLossless(bf16(base), 2, null), encodeLossless(bf16(mid), 2, bf16(base))];
  const expected = encodeLossless(bf16(tuned), 2, bf16(mid));
  for (const workers of [0, 2]) {
    const pool = new EncodePool(workers);
    try {
      const { body, bodies } = await pool.encode({ bytes: bf16(tuned), width: 2, base: null, baseChain: chain.map((b) => Uint8Array.from(b)) }); // copies (a Buffer's slice is a view)
      assert.deepEqual(Buffer.from(body), Buffer.from(expected), `${workers} workers`);
      // A worker moves the chain's records back, unchanged, for the caller to read later records into.
      assert.deepEqual(bodies?.map((b) => Buffer.from(b)), workers > 0 ? chain.map((b) => Buffer.from(b)) : undefined);
      // A chain missing its root does not decode: the link was coded against a base.
      await assert.rejects(pool.encode({ bytes: bf16(tuned), width: 2, base: null, baseChain: [Uint8Array.from(chain[1]!)] }), /encoded with a base, decoded without/);
    } finally {
      await pool.close();
    }
  }
});

test('a worker hands a chunk it was given as a whole buffer back with the result, unchanged; inline coding keeps it', async () => {
  for (const workers of [1, 0]) {
    const pool = new EncodePool(workers);
    try {
      const bytes = bf16(tuned);
      const copy = bytes.slice();
      const r = await pool.encode({ bytes, width: 2, base: null });
      if (workers > 0) {
        assert.equal(bytes.byteLength, 0, 'moved to the worker');
        assert.deepEqual(r.bytes, copy);
      } else assert.equal(r.bytes, undefined);
      assert.deepEqual(Buffer.from(r.body), Buffer.from(encodeLossless(copy, 2, null)));
    } finally {
      await pool.close();
    }
  }
});

test('a lossless body is written into the `into` of its job when it fits (same bytes), and a worker hands the base back', async () => {
  const expected = Buffer.from(encodeLossless(bf16(tuned), 2, bf16(base)));
  for (const workers of [1, 0]) {
    const pool = new EncodePool(workers);
    try {
      for (const room of [expected.length + 100, expected.length - 1]) {
        const baseBytes = bf16(base);
        const into = new ArrayBuffer(room);
        const r = await pool.encode({ bytes: bf16(tuned), width: 2, base: baseBytes, into });
        assert.deepEqual(Buffer.from(r.body), expected, `${workers} workers, room ${room}`);
        const fits = room >= expected.length;
        assert.equal(r.inInto === true, fits, 'inInto says whether the body lies in `into`');
        if (fits) assert.equal(r.body.byteOffset, 0);
        if (fits) assert.equal(r.body.buffer.byteLength, room, 'the body is a view of `into` (moved back with it)');
        if (workers > 0) assert.deepEqual(r.base, bf16(base), 'the base comes back unchanged');
        else assert.equal(r.base, undefined);
      }
    } finally {
      await pool.close();
    }
  }
});

test('shared memory is posted, not moved: the chunk, its base chain and `into` stay the caller\'s, and the body lies in `into`', async () => {
  const sharedCopy = (b: Uint8Array): Uint8Array => {
    const out = new Uint8Array(new SharedArrayBuffer(b.length));
    out.set(b);
    return out;
  };
  const expected = Buffer.from(encodeLossless(bf16(tuned), 2, bf16(base)));
  for (const workers of [1, 0]) {
    const pool = new EncodePool(workers);
    try {
      const bytes = sharedCopy(bf16(tuned));
      const chain = [sharedCopy(encodeLossless(bf16(base), 2, null))];
      const into = new SharedArrayBuffer(expected.length + 64);
      const r = await pool.encode({ bytes, width: 2, base: null, baseChain: chain, into });
      assert.deepEqual(Buffer.from(r.body), expected, `${workers} workers`);
      assert.equal(r.inInto, true);
      assert.equal(r.body.byteOffset, 0);
      assert.deepEqual(Buffer.from(new Uint8Array(into, 0, r.body.length)), expected, 'the body lies in the caller\'s own `into`');
      assert.deepEqual(bytes, bf16(tuned), 'the chunk is still the caller\'s, unchanged');
      assert.equal(chain[0]!.byteLength > 0, true, 'the chain record is not detached');
      assert.equal(r.bytes, undefined, 'nothing to hand back');
      assert.equal(r.bodies, undefined, 'nothing to hand back');
    } finally {
      await pool.close();
    }
  }
});

test('maxAbsError: NaN on one side is an infinite error, whatever follows it', () => {
  assert.equal(maxAbsError(Float32Array.of(Number.NaN, 1), Float32Array.of(0, 5)), Infinity);
  assert.equal(maxAbsError(Float32Array.of(Number.NaN, Infinity, 1), Float32Array.of(Number.NaN, Infinity, 1.5)), 0.5);
});

test('digest: SHA-256 of the prefix byte and the bytes, on a worker for shared memory and inline otherwise, alike', async () => {
  const pool = new EncodePool(2);
  try {
    const bytes = new Uint8Array(new SharedArrayBuffer(3 << 20));
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const plain = Uint8Array.from(bytes);
    const expected = createHash('sha256').update(Uint8Array.of(7)).update(plain).digest();
    const views = [bytes, bytes.subarray(1000, 2_000_000), plain, plain.subarray(1000, 2_000_000)];
    const digests = await Promise.all(views.map((v) => pool.digest(7, v)));
    assert.deepEqual(Buffer.from(digests[0]!), expected);
    assert.deepEqual(Buffer.from(digests[2]!), expected);
    const part = createHash('sha256').update(Uint8Array.of(7)).update(plain.subarray(1000, 2_000_000)).digest();
    assert.deepEqual(Buffer.from(digests[1]!), part, 'a view of shared memory: its own bytes only');
    assert.deepEqual(Buffer.from(digests[3]!), part);
    assert.deepEqual(Buffer.from(await new EncodePool(0).digest(7, bytes)), expected, 'no workers: on this thread');
  } finally {
    await pool.close();
  }
});
