import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeLossless } from '../codecs/lossless.js';
import { SeededRandom } from '../env/seeded-random.js';
import { decodeBody, shared } from './body-decoder.js';

test('shared() copies a Buffer into shared memory as a Buffer without the deprecated Buffer constructor (DEP0005)', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code ?? w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    const src = Buffer.from([1, 2, 3, 250]); // what file reads and zstd-napi return
    const out = shared(src);
    assert.ok(Buffer.isBuffer(out));
    assert.ok(out.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([...out], [1, 2, 3, 250]);
    const f = shared(Float32Array.of(0.5, -2));
    assert.ok(f instanceof Float32Array && f.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([...f], [0.5, -2]);
    assert.equal(shared(out), out, 'already shared: returned as it is');
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.deepEqual(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('a lossless body decodes through its base chain given as bodies, as against the base itself', () => {
  const rng = new SeededRandom(9);
  const root = rng.bytes(40_000);
  const mid = root.map((b) => (rng.int(10) === 0 ? b ^ 1 : b));
  const top = mid.map((b) => (rng.int(10) === 0 ? b ^ 2 : b));
  const chain = [encodeLossless(root, 2, null), encodeLossless(mid, 2, root)];
  const body = encodeLossless(top, 2, mid);
  const job = { codec: 'lossless', body, base: null, baseChain: chain, dtype: 'U8', digestPrefix: 3, owned: true } as const;
  assert.deepEqual(decodeBody(job).bytes, top);
  assert.deepEqual(decodeBody({ ...job, baseChain: undefined, base: mid }).bytes, top, 'the same as against the base');
  assert.throws(() => decodeBody({ ...job, baseChain: [chain[1]!] }), /encoded with a base, decoded without/);
});
