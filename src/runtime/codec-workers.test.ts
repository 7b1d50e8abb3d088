/**
 * The encode and decode pools of one size share their worker threads (codec-workers.ts): jobs of both kinds
 * give the bytes of inline coding, closing one pool leaves the other's jobs running, and closing the last one
 * fails what is still running and lets the pools start again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toDTypeBytes } from '../codecs/half-float.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';
import { DecodePool } from './decode-pool.js';
import { EncodePool, codeChunkJob } from './encode-pool.js';
import { decodeBody } from './body-decoder.js';

const rng = new SeededRandom(77);
const n = 400_000;
const base = toDTypeBytes(new Float32Array(n).map(() => rng.gaussian() * 0.02), 'BF16');
const tuned = base.map((b, i) => (i % 2 === 0 && rng.next() < 0.4 ? b ^ 1 : b));

test('one set of workers encodes and decodes; closing one pool leaves the other working, the last close stops them', async () => {
  const enc = new EncodePool(2);
  const dec = new DecodePool({ workers: 2, inlineBytes: 0 });
  try {
    await dec.ready();
    const want = codeChunkJob({ bytes: tuned, width: 2, base }).body;
    const { body } = await enc.encode({ bytes: tuned.slice(), width: 2, base: base.slice() });
    assert.deepEqual(Buffer.from(body), Buffer.from(want), 'encoded on a shared worker as inline');
    const job = { codec: 'lossless', body, base, dtype: 'U8', digestPrefix: 1, owned: true } as const;
    assert.deepEqual(Buffer.from((await dec.decode(job)).bytes), Buffer.from(tuned), 'decoded on a shared worker');
    // The decode pool closes while an encode job runs on the same workers: the job completes.
    const running = enc.encode({ bytes: tuned.slice(), width: 2, base: base.slice() });
    await dec.close();
    assert.deepEqual(Buffer.from((await running).body), Buffer.from(want), 'an encode job outlives the decode pool');
    // The decode pool, used again, takes the workers again.
    await dec.ready();
    assert.deepEqual(Buffer.from((await dec.decode(job)).bytes), Buffer.from(decodeBody(job).bytes));
    // Both closed with a job in flight: it fails as a closed pool's jobs always did.
    const late = enc.encode({ bytes: tuned.slice(), width: 2, base: base.slice() });
    await dec.close();
    await enc.close();
    await assert.rejects(late, (e: unknown) => isNeurStoreError(e) && e.code === 'IO_ERROR');
    // And both start again.
    assert.deepEqual(Buffer.from((await enc.encode({ bytes: tuned.slice(), width: 2, base: base.slice() })).body), Buffer.from(want));
  } finally {
    await dec.close();
    await enc.close();
  }
});
