import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packBits, packedBytes, unpackBits } from './bit-pack.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';

/** Oracle: a bit-by-bit reference packer (LSB-first). */
function naivePack(codes: Uint32Array, bits: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((codes.length * bits) / 8));
  let k = 0;
  for (const c of codes) {
    for (let b = 0; b < bits; b++, k++) if (Math.floor(c / 2 ** b) % 2) out[k >> 3]! |= 1 << (k & 7);
  }
  return out;
}

test('pack/unpack round-trips every width 1..32 and matches a bit-by-bit oracle', () => {
  const rand = new SeededRandom(1);
  for (let bits = 1; bits <= 32; bits++) {
    for (const n of [0, 1, 7, 8, 9, 33, 257]) {
      const codes = new Uint32Array(n).map(() => Math.floor(rand.next() * 2 ** bits));
      if (n > 2) codes[1] = 2 ** bits - 1; // the largest code
      const packed = packBits(codes, bits);
      assert.equal(packed.length, packedBytes(n, bits));
      assert.deepEqual(packed, naivePack(codes, bits), `bits=${bits} n=${n}`);
      assert.deepEqual(unpackBits(packed, n, bits), codes, `bits=${bits} n=${n}`);
    }
  }
});

test('little-endian bit order: first code in the lowest bits of byte 0', () => {
  assert.deepEqual(packBits(Uint32Array.of(1, 2, 3), 2), Uint8Array.of(0b111001));
  assert.deepEqual(packBits(Uint32Array.of(0xabc), 12), Uint8Array.of(0xbc, 0x0a));
});

test('bad widths, oversize codes and short inputs are INVALID_ARGUMENT', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  bad(() => packBits(Uint32Array.of(1), 0));
  bad(() => packBits(Uint32Array.of(1), 33));
  bad(() => packBits(Uint32Array.of(4), 2));
  bad(() => unpackBits(new Uint8Array(1), 3, 3));
});
