// The rANS coder and its compact frequency table: round trips on seeded random, constant, empty,
// single-symbol and real uint8 tensor bytes (the face-api TF.js weights), the table's cost against the
// order-0 entropy, and malformed tables rejected as INVALID_ARGUMENT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { ByteReader } from './byte-io.js';
import { EIGHT_STATES_MIN, ransDecode, ransEncode, ransStreamParts } from './rans-coder.js';
import { chooseTable, normalizeFrequencies, readTable } from './rans-table.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';

const rand = new SeededRandom(19);
const bad = (f: () => unknown, msg?: string) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'), msg);

ensureFixtures();
/** face_landmark_68's weights file: 81 uint8-quantized tensors back to back (the face-api bench pair). */
const landmark = new Uint8Array(readFileSync(fixturePath('face-api', 'face_landmark_68_model.bin')));

const inputs: Record<string, Uint8Array> = {
  empty: new Uint8Array(0),
  singleByte: Uint8Array.of(200),
  constant: new Uint8Array(4000).fill(77),
  twoSymbols: new Uint8Array(5000).map(() => (rand.next() < 0.99 ? 3 : 250)),
  uniform: new Uint8Array(3000).map(() => Math.floor(rand.next() * 256)),
  gaussian: new Uint8Array(50000).map(() => Math.max(0, Math.min(255, Math.round(128 + rand.gaussian() * 20)))),
  tinyGaussian: new Uint8Array(300).map(() => Math.max(0, Math.min(255, Math.round(128 + rand.gaussian() * 20)))),
  holes: new Uint8Array(20000).map(() => 2 * Math.floor(rand.next() * 40) + (rand.next() < 0.01 ? 201 : 0)),
  allSymbolsOnce: Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 255),
  realSmall: landmark.subarray(0, 864),
  realLarge: landmark.subarray(100_000, 165_536),
  /** Long enough for eight states (mode 5). */
  realEight: landmark.subarray(0, EIGHT_STATES_MIN + 13),
};

function entropyBytes(b: Uint8Array): number {
  const c = new Uint32Array(256);
  for (const x of b) c[x]!++;
  let bits = 0;
  for (const x of c) if (x) bits -= x * Math.log2(x / b.length);
  return bits / 8;
}

test('round trip on empty, constant, single-symbol, random and real tensor bytes', () => {
  for (const [name, input] of Object.entries(inputs)) {
    const blob = ransEncode(input);
    assert.deepEqual(ransDecode(blob), input, name);
    assert.ok(blob.length <= input.length + 6, `${name}: ${blob.length} bytes for ${input.length}`);
  }
  assert.equal(ransEncode(inputs.constant!).length, 4);
});

test('the coded size stays close to the order-0 entropy, table included', () => {
  assert.equal(ransStreamParts(ransEncode(inputs.realLarge!))!.states.length, 2);
  assert.equal(ransStreamParts(ransEncode(inputs.realEight!))!.states.length, 8);
  for (const name of ['gaussian', 'holes', 'twoSymbols', 'realLarge', 'realEight'] as const) {
    const input = inputs[name]!;
    const got = ransEncode(input).length;
    const h = entropyBytes(input);
    assert.ok(ransStreamParts(ransEncode(input)) !== null, `${name} is coded, not stored`);
    assert.ok(got < h * 1.01 + 120, `${name}: ${got} bytes vs entropy ${h.toFixed(0)}`);
  }
});

test('compact tables: a bell-shaped table costs well under a byte per symbol', () => {
  const counts = new Uint32Array(256);
  for (const x of inputs.gaussian!) counts[x]!++;
  const present = counts.filter((c) => c > 0).length;
  const table = chooseTable(counts);
  assert.ok(table.bytes.length < present * 0.8, `${table.bytes.length} bytes for ${present} symbols`);
  assert.equal(table.freq.reduce((a, f) => a + f, 0), 1 << 15);
  for (let s = 0; s < 256; s++) assert.equal(table.freq[s]! > 0, counts[s]! > 0, `symbol ${s}`);
  // The decoder rebuilds exactly the encoder's frequencies and stops at the table's last byte.
  const r = new ByteReader(Uint8Array.of(...table.bytes, 0xaa), 'table');
  assert.deepEqual(readTable(r), table.freq);
  assert.equal(r.pos, table.bytes.length);
});

test('normalized frequencies sum to 2^15 and keep every present symbol, even a lone heavy one among 255 rare', () => {
  const w = new Float64Array(256).fill(1);
  w[9] = 2 ** 31;
  const f = normalizeFrequencies(w);
  assert.equal(f.reduce((a, x) => a + x, 0), 1 << 15);
  assert.ok(f.every((x) => x >= 1));
});

test('eight-state streams: truncated or flipped streams are INVALID_ARGUMENT or (a surviving flip) decode to the length', () => {
  const input = inputs.realEight!;
  const blob = ransEncode(input);
  const streamStart = blob.length - ransStreamParts(blob)!.stream.length;
  for (let cut = streamStart - 40; cut < blob.length; cut += 4099) bad(() => ransDecode(blob.subarray(0, cut)), `cut at ${cut}`);
  bad(() => ransDecode(blob.subarray(0, blob.length - 1)), 'last byte cut');
  let caught = 0;
  for (let i = streamStart; i < blob.length; i += 7919) {
    const c = blob.slice();
    c[i]! ^= 0x20;
    try {
      assert.equal(ransDecode(c).length, input.length);
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), String(e));
      caught++;
    }
  }
  assert.ok(caught > 0);
});

test('truncated or corrupted tables and streams are INVALID_ARGUMENT, never a crash or a hang', () => {
  const blob = ransEncode(inputs.realLarge!);
  const parts = ransStreamParts(blob)!;
  const tableEnd = blob.length - parts.stream.length - 8;
  for (let cut = 0; cut < blob.length; cut += cut < tableEnd + 16 ? 1 : 997) bad(() => ransDecode(blob.subarray(0, cut)), `cut at ${cut}`);
  let caught = 0;
  for (let i = 2; i < tableEnd; i++) {
    for (const flip of [0x01, 0x10, 0xff]) {
      const c = blob.slice();
      c[i]! ^= flip;
      try {
        // A flip may survive (say a rare symbol's weight 1 -> 2 that normalizes to the same frequency); the
        // store's record checksum is what catches those.
        assert.equal(ransDecode(c).length, inputs.realLarge!.length);
      } catch (e) {
        assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), String(e));
        caught++;
      }
    }
  }
  assert.ok(caught > 0);
  bad(() => ransDecode(Uint8Array.of(3, 4, 0, 0, 1, 0, 0, 0)), 'the retired mode 3');
  bad(() => ransDecode(Uint8Array.of(9, 0)), 'unknown mode');
});

/** A hand-made table: b and k, then exp-Golomb(0) values (runs, then level deltas already zigzagged). */
function handTable(b: number, k: number, values: number[]): Uint8Array {
  const bits: number[] = [];
  const put = (v: number, n: number) => {
    for (let i = 0; i < n; i++) bits.push((v >>> i) & 1);
  };
  put(b, 3);
  put(k, 2);
  for (const v of values) {
    const len = 31 - Math.clz32(v + 1);
    put(0, len);
    put(1, 1);
    put(v + 1, len);
  }
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((x, i) => (bytes[i >>> 3]! |= x << (i & 7)));
  return bytes;
}

test('malformed tables: runs past 256 symbols, no symbols, a level of 0, truncation', () => {
  const read = (bytes: Uint8Array) => readTable(new ByteReader(bytes, 'table'));
  // Absent 0, present 2 (coded 1), absent 254 (coded 253): symbols 0 and 1 with levels 3 and 2.
  const good = handTable(0, 0, [0, 1, 253, 6, 1]);
  const f = read(good);
  assert.equal(f[0]! + f[1]!, 1 << 15);
  assert.ok(f[0]! > f[1]!);
  const fails = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => read(bytes), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && re.test((e as Error).message));
  fails(handTable(0, 0, [0, 1, 254, 6, 1]), /exceed 256/);
  fails(handTable(0, 0, [256]), /no symbols/);
  fails(handTable(0, 0, [0, 1, 253, 0, 0]), /level 0/);
  fails(handTable(0, 0, [0, 1, 253, 6, 7]), /level -1/);
  fails(handTable(7, 0, [0, 0, 254, 2 * 200 * 128]), /level/);
  fails(good.subarray(0, good.length - 1), /truncated/);
  fails(new Uint8Array(0), /truncated/);
});
