import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shared } from './body-decoder.js';

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
