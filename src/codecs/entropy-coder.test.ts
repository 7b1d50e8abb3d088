import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RANS_CODER, RANS_PAIRS_CODER, RAW_CODER, SPARSE_CODER, ZSTD_CODER, ZSTD_PLANE, ZSTD_PLANE_CODER, encodeSmallest, entropyCoderById, zstdCoder } from './entropy-coder.js';
import { ransEncode } from './rans-coder.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';

const rand = new SeededRandom(7);

const inputs: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  one: Uint8Array.of(42),
  constant: new Uint8Array(1000).fill(9),
  uniform: new Uint8Array(5000).map(() => Math.floor(rand.next() * 256)),
  skewed: new Uint8Array(20000).map(() => Math.min(254, Math.abs(Math.round(rand.gaussian() * 2)) * 2)),
  twoSymbols: new Uint8Array(3000).map(() => (rand.next() < 0.999 ? 0 : 1)),
  smallOdd: new Uint8Array(300_001).map(() => Math.min(15, Math.abs(Math.round(rand.gaussian() * 1.5)))),
};

for (const coder of [RAW_CODER, RANS_CODER, ZSTD_CODER, ZSTD_PLANE_CODER, SPARSE_CODER, RANS_PAIRS_CODER]) {
  test(`${coder.name} round-trips every input`, () => {
    for (const [name, input] of Object.entries(inputs)) {
      const enc = coder.encode(input);
      assert.deepEqual(entropyCoderById(coder.id).decode(enc, input.length), input, name);
    }
  });
}

test('rANS compresses skewed data near its entropy and never grows incompressible data by more than a few bytes', () => {
  const s = inputs.skewed!;
  const counts = new Map<number, number>();
  for (const b of s) counts.set(b, (counts.get(b) ?? 0) + 1);
  let bits = 0;
  for (const c of counts.values()) bits -= c * Math.log2(c / s.length);
  const got = ransEncode(s).length;
  assert.ok(got < (bits / 8) * 1.02 + 64, `rANS ${got} bytes vs entropy ${bits / 8}`);
  assert.ok(ransEncode(inputs.uniform!).length <= inputs.uniform!.length + 8);
  assert.ok(ransEncode(inputs.twoSymbols!).length < 100);
});

test('rANS over pairs codes symbols under 16 two to a byte, as small as rANS over them; larger ones as rANS does', () => {
  // Codes of a quantized fine-tune delta: zigzagged, mostly 0-2 (the odd length leaves a symbol alone).
  const codes = inputs.smallOdd!;
  const pairs = RANS_PAIRS_CODER.encode(codes);
  assert.equal(pairs[0], 1, 'pair mode');
  const single = RANS_CODER.encode(codes).length;
  assert.ok(pairs.length <= single * 1.005, `${pairs.length} vs ${single}`); // (a pair table costs more bytes)
  // Packed four symbols a step through aligned views, else a symbol at a time: the same blob and bytes either way.
  const shifted = codes.subarray(1);
  assert.deepEqual(RANS_PAIRS_CODER.encode(shifted), RANS_PAIRS_CODER.encode(shifted.slice()));
  const into = new Uint8Array(shifted.length + 1).subarray(1);
  RANS_PAIRS_CODER.decodeInto(RANS_PAIRS_CODER.encode(shifted), into);
  assert.deepEqual(into, shifted);
  const wide = inputs.skewed!; // symbols up to 254
  const enc = RANS_PAIRS_CODER.encode(wide);
  assert.equal(enc[0], 0, 'symbol mode');
  assert.deepEqual(RANS_PAIRS_CODER.decode(enc, wide.length), wide);
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  bad(() => RANS_PAIRS_CODER.decode(pairs, codes.length - 1));
  bad(() => RANS_PAIRS_CODER.decode(Uint8Array.of(7, ...pairs.subarray(1)), codes.length)); // unknown mode
  bad(() => RANS_PAIRS_CODER.decode(pairs.subarray(0, pairs.length - 5), codes.length));
});

test('the zstd plane setting Huffman-codes literals while it strides past positions (zstd would turn that off unasked)', () => {
  // An exponent-like plane (bytes of a narrow distribution, no repeats to find): order-0 entropy ~2.6 bits per byte.
  const plane = new Uint8Array(1 << 20).map(() => 120 + Math.round(rand.gaussian() * 1.5));
  const counts = new Map<number, number>();
  for (const b of plane) counts.set(b, (counts.get(b) ?? 0) + 1);
  const entropyBytes = [...counts.values()].reduce((s, c) => s - c * Math.log2(c / plane.length), 0) / 8;
  const striding = ZSTD_PLANE_CODER.encode(plane);
  assert.ok(striding.length < 1.05 * entropyBytes, `${striding.length} bytes against an entropy of ${Math.round(entropyBytes)}`);
  const everyPosition = zstdCoder({ ...ZSTD_PLANE, targetLength: undefined }).encode(plane);
  assert.ok(striding.length <= everyPosition.length * 1.01, `${striding.length} against ${everyPosition.length} trying every position`);
  assert.deepEqual(entropyCoderById(ZSTD_PLANE_CODER.id).decode(striding, plane.length), plane);
});

test('encodeSmallest keeps the smallest coder output', () => {
  const best = encodeSmallest(inputs.skewed!, [RANS_CODER, ZSTD_CODER]);
  const sizes = [RANS_CODER, ZSTD_CODER].map((c) => c.encode(inputs.skewed!).length);
  assert.equal(best.bytes.length, Math.min(...sizes));
  assert.equal(encodeSmallest(inputs.uniform!, []).coder, RAW_CODER.id);
});

test('truncated, corrupted or mislabelled blobs throw INVALID_ARGUMENT', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  const s = inputs.skewed!;
  for (const coder of [RANS_CODER, ZSTD_CODER, SPARSE_CODER]) {
    const enc = coder.encode(s);
    bad(() => coder.decode(enc.subarray(0, enc.length - 3), s.length));
    bad(() => coder.decode(enc, s.length + 1));
    bad(() => coder.decode(new Uint8Array(0), s.length));
  }
  const enc = RANS_CODER.encode(s);
  let caught = 0;
  for (let i = 5; i < enc.length; i += 97) {
    const c = enc.slice();
    c[i]! ^= 0x5a;
    try {
      const out = RANS_CODER.decode(c, s.length);
      assert.notDeepEqual(out, s); // a flip that still decodes must not go unnoticed as the original
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'));
      caught++;
    }
  }
  assert.ok(caught > 0);
  bad(() => entropyCoderById(99));
});
