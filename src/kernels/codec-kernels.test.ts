import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../env/seeded-random.js';
import { TS_CODEC_KERNELS, codecKernels, wasmCodecKernels, type CodecKernels } from './codec-kernels.js';

const rng = new SeededRandom(99);
const backends: Array<[string, CodecKernels]> = [['ts', TS_CODEC_KERNELS]];
const wasm = wasmCodecKernels();
if (wasm) backends.push(['wasm', wasm]);

test('the wasm codec kernels are built and active (npm test builds them)', () => {
  assert.ok(wasm, 'run `node scripts/build-kernels.mjs`');
  assert.equal(codecKernels(), wasm);
});

/** Bytes equal to `fill` with probability `p`, else random. */
function sparseBytes(n: number, fill: number, p: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => (rng.next() < p ? fill : rng.int(256)));
}

test('sparseSplit and sparseMerge match a plain oracle and invert each other, on every backend', () => {
  for (const n of [0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 4099]) {
    for (const p of [0, 0.5, 0.9, 1]) {
      const fill = rng.int(256);
      const input = sparseBytes(n, fill, p);
      const wantMap = new Uint8Array((n + 7) >> 3);
      const wantValues: number[] = [];
      input.forEach((v, i) => {
        if (v !== fill) {
          wantMap[i >> 3]! |= 1 << (i & 7);
          wantValues.push(v);
        }
      });
      for (const [name, k] of backends) {
        const map = new Uint8Array(wantMap.length).fill(0xee);
        const values = new Uint8Array(n);
        const count = k.sparseSplit(input, fill, map, values);
        assert.equal(count, wantValues.length, `${name} n=${n} p=${p}`);
        assert.deepEqual(map, wantMap, `${name} map n=${n} p=${p}`);
        assert.deepEqual([...values.subarray(0, count)], wantValues, `${name} values`);
        const out = new Uint8Array(n).fill(fill ^ 1);
        assert.equal(k.sparseMerge(map, values.subarray(0, count), fill, out), 0);
        assert.deepEqual(out, input, `${name} merge n=${n} p=${p}`);
      }
    }
  }
});

test('sparseMerge refuses a map whose bits do not match the values or pass the end, on every backend', () => {
  const input = sparseBytes(1003, 0, 0.8);
  for (const [name, k] of backends) {
    const map = new Uint8Array(126);
    const values = new Uint8Array(1003);
    const count = k.sparseSplit(input, 0, map, values);
    const out = new Uint8Array(1003);
    assert.equal(k.sparseMerge(map, values.subarray(0, count - 1), 0, out), -1, `${name}: one value short`);
    assert.equal(k.sparseMerge(map, values.subarray(0, count + 1), 0, out), -1, `${name}: one value too many`);
    const past = map.slice();
    past[125]! |= 0x80; // bit 1007: past the end
    assert.equal(k.sparseMerge(past, values.subarray(0, count + 1), 0, out), -1, `${name}: bit past the end`);
  }
});

test('sparseMerge checks maps and value counts inside the 16-byte blocks as at the tail, on every backend', () => {
  // Large enough for thousands of SIMD blocks; values cut short anywhere, a bit cleared or set mid-map, and
  // maps shorter or longer than the output.
  for (const p of [0.1, 0.9, 0.99]) {
    const n = 16 * 1000 + 5;
    const input = sparseBytes(n, 7, p);
    const map = new Uint8Array((n + 7) >> 3);
    const values = new Uint8Array(n);
    const count = TS_CODEC_KERNELS.sparseSplit(input, 7, map, values);
    const cleared = map.slice();
    const j = cleared.findIndex((b, i) => i > 100 && b !== 0);
    cleared[j] = cleared[j]! & (cleared[j]! - 1);
    const set = map.slice();
    set[500] = 0xff;
    for (const [name, k] of backends) {
      const out = new Uint8Array(n);
      for (const cut of [0, 1, count >> 1, count - 1]) {
        assert.equal(k.sparseMerge(map, values.subarray(0, cut), 7, out), -1, `${name} p=${p}: ${cut} of ${count} values`);
      }
      assert.equal(k.sparseMerge(cleared, values.subarray(0, count), 7, out), -1, `${name} p=${p}: a bit cleared`);
      if (set[500] !== map[500]) assert.equal(k.sparseMerge(set, values.subarray(0, count), 7, out), -1, `${name} p=${p}: bits set`);
      assert.equal(k.sparseMerge(map, values.subarray(0, count), 7, out), 0, `${name} p=${p}`);
      assert.deepEqual(out, input, `${name} p=${p}: merged`);
      // A map shorter than the output leaves the rest as fill; a longer one must set nothing past the end.
      const shortOut = new Uint8Array(n).fill(1);
      const shortCount = map.subarray(0, 600).reduce((c, b) => c + popcount(b), 0);
      assert.equal(k.sparseMerge(map.subarray(0, 600), values.subarray(0, shortCount), 7, shortOut), 0, `${name} short map`);
      assert.deepEqual(shortOut.subarray(0, 4800), input.subarray(0, 4800), `${name} short map: its part`);
      assert.ok(shortOut.subarray(4800).every((b) => b === 7), `${name} short map: fill after it`);
      const longMap = Uint8Array.of(...map, 0, 0, 0);
      assert.equal(k.sparseMerge(longMap, values.subarray(0, count), 7, out), 0, `${name} zero bytes past the end`);
      longMap[longMap.length - 1] = 1;
      assert.equal(k.sparseMerge(longMap, values.subarray(0, count + 1), 7, out), -1, `${name} a bit past the end`);
    }
  }
});

const popcount = (b: number): number => (b.toString(2).match(/1/g) ?? []).length;

test('xxh32 gives the reference values and agrees across backends', () => {
  const text = (s: string) => new TextEncoder().encode(s);
  for (const [name, k] of backends) {
    assert.equal(k.xxh32(text(''), 0), 0x02cc5d05, name);
    assert.equal(k.xxh32(text('abc'), 0), 0x32d153ff, name);
  }
  for (const n of [1, 3, 4, 15, 16, 17, 31, 64, 1000, 65537]) {
    const bytes = rng.bytes(n);
    const seed = rng.nextU32();
    const got = backends.map(([, k]) => k.xxh32(bytes.subarray(1), seed));
    assert.ok(got.every((h) => h === got[0]), `n=${n}: ${got}`);
  }
});
