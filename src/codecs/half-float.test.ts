import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBf16Bits, fromF16Bits, roundTo, toBf16Bits, toDTypeBytes, toF16Bits } from './half-float.js';
import { SeededRandom } from '../env/seeded-random.js';

test('every fp16 and bf16 bit pattern round-trips through its value', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = fromF16Bits(h);
    if (Number.isNaN(v)) assert.ok(Number.isNaN(fromF16Bits(toF16Bits(v))));
    else assert.equal(toF16Bits(v), h, `f16 ${h.toString(16)}`);
    const b = fromBf16Bits(h);
    if (Number.isNaN(b)) assert.ok(Number.isNaN(fromBf16Bits(toBf16Bits(b))));
    else assert.equal(toBf16Bits(b), h, `bf16 ${h.toString(16)}`);
  }
});

test('rounding to fp16 picks the nearest value, ties to even (oracle: scan of neighbours)', () => {
  const rand = new SeededRandom(3);
  for (let k = 0; k < 20000; k++) {
    const v = Math.fround((rand.next() - 0.5) * 2 ** Math.floor(rand.next() * 40 - 28));
    const r = fromF16Bits(toF16Bits(v));
    const h = toF16Bits(v);
    for (const n of [h - 1, h + 1]) {
      if ((n & 0x7fff) >= 0x7c00 || n < 0 || (n & 0x7fff) === 0x7fff) continue;
      const other = fromF16Bits(n & 0xffff);
      assert.ok(Math.abs(other - v) >= Math.abs(r - v), `v=${v} got ${r}, ${other} is closer`);
    }
  }
  assert.equal(fromF16Bits(toF16Bits(65520)), Infinity);
  assert.equal(fromF16Bits(toF16Bits(1 + 2 ** -11)), 1); // tie goes to even
  assert.equal(roundTo('BF16', 1 + 2 ** -8), 1);
});

test('toDTypeBytes writes little-endian patterns', () => {
  assert.deepEqual(toDTypeBytes(Float32Array.of(1), 'F16'), Uint8Array.of(0x00, 0x3c));
  assert.deepEqual(toDTypeBytes(Float32Array.of(1), 'BF16'), Uint8Array.of(0x80, 0x3f));
  assert.deepEqual(toDTypeBytes(Float32Array.of(1), 'F32'), Uint8Array.of(0, 0, 0x80, 0x3f));
});
