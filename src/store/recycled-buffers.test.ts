import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecycledBuffers } from './recycled-buffers.js';

test('recycled buffers: the smallest kept buffer that holds a request, in steps, shared; small requests are ordinary', () => {
  const r = new RecycledBuffers(3, 1024);
  const small = r.alloc(100);
  assert.ok(small.buffer instanceof ArrayBuffer && small.length === 100, 'under a step: ordinary memory of its own');
  const a = r.alloc(3000);
  assert.ok(a.buffer instanceof SharedArrayBuffer);
  assert.equal(a.length, 3072, 'rounded up to whole steps');
  const t = r.take(2000);
  assert.equal(t.length, 2000, 'take: exactly the bytes asked for');
  assert.equal(t.buffer.byteLength, 3072, 'made as large as the largest so far');
  const big = r.alloc(5000);
  r.giveBack(a, t, small, big);
  assert.equal(r.alloc(1500).buffer.byteLength, 3072, 'the smallest that holds it');
  assert.equal(r.alloc(1500).buffer.byteLength, 3072, 'then the next');
  assert.equal(r.alloc(1500).buffer, big.buffer, 'then the larger one');
  assert.equal(r.alloc(1500).buffer.byteLength, 5120, 'then a new one, as large as the largest');
});

test('recycled buffers: only views at the start of their buffer, each buffer once, at most `keep` (larger ones replace the smallest)', () => {
  const r = new RecycledBuffers(2, 1024);
  const [a, b, c] = [1024, 2048, 4096].map((n) => new RecycledBuffers(1, 1024).alloc(n));
  r.giveBack(a.subarray(1), undefined, new Uint8Array(new ArrayBuffer(0)));
  assert.notEqual(r.alloc(1024).buffer, a.buffer, 'a view past the start is not the whole buffer: not kept');
  r.giveBack(a, a, a.buffer);
  assert.equal(r.alloc(1024).buffer, a.buffer);
  assert.notEqual(r.alloc(1024).buffer, a.buffer, 'given back three times, kept once');
  r.giveBack(a, b, c);
  const kept = [r.alloc(1024), r.alloc(1024), r.alloc(1024)].map((v) => v.buffer);
  assert.deepEqual(kept.slice(0, 2), [b.buffer, c.buffer], 'the third buffer took the smallest one\'s place');
  assert.ok(kept[2] !== a.buffer && kept[2] !== b.buffer && kept[2] !== c.buffer);
});
