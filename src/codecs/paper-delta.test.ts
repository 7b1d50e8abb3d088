import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePaperDelta, encodePaperDelta, paperDeltaBits, paperDeltaInfo, paperNeededBits, paperStdBits,
} from './paper-delta.js';
import { dequantize8, quantize8 } from './quant8.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';

function maxErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function randomTensor(seed: number, n: number, sigma: number): Float32Array {
  const rng = new SeededRandom(seed);
  return new Float32Array(n).map(() => rng.gaussian() * sigma);
}

test('bit rules follow the paper', () => {
  assert.equal(paperStdBits(1e-3), Math.ceil(Math.log2(160)));
  assert.equal(paperStdBits(0.01), 4);
  assert.equal(paperNeededBits(0.5, 1e-3), 9);
  assert.equal(paperNeededBits(0, 1e-3), 0);
  assert.equal(paperDeltaBits(0.5, 1e-3), 8);
  assert.equal(paperDeltaBits(0, 1e-3), 1);
  assert.equal(paperDeltaBits(1e30, 1e-9), 32);
  assert.throws(() => paperStdBits(0), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('max|x - x\'| <= tol over seeded random tensors, bases and tolerances', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const x = randomTensor(seed, 1 + seed * 137, 0.05 * seed);
    const base = seed % 3 === 0 ? null : dequantize8(quantize8(x.map((v, i) => v + (i % 7) * 1e-3)));
    for (const tol of [1e-1, 1e-2, 1e-3, 1e-4, 1e-6]) {
      const blob = encodePaperDelta(x, base, tol);
      const out = decodePaperDelta(blob, base);
      assert.equal(out.length, x.length);
      assert.ok(maxErr(out, x) <= tol, `seed ${seed} tol ${tol}: ${maxErr(out, x)}`);
      const info = paperDeltaInfo(blob);
      assert.ok(info.bits >= 1 && info.bits <= 32);
    }
  }
});

test('the bit width is the paper rule, raised only as far as the bound needs', () => {
  const x = randomTensor(5, 4096, 0.1);
  const base = dequantize8(quantize8(x));
  let range = 0;
  let lo = Infinity;
  let hi = -Infinity;
  x.forEach((v, i) => { lo = Math.min(lo, v - base[i]!); hi = Math.max(hi, v - base[i]!); });
  range = hi - lo;
  const tol = 1e-4;
  const info = paperDeltaInfo(encodePaperDelta(x, base, tol));
  const rule = paperDeltaBits(range, tol);
  assert.ok(info.bits === rule || info.bits === rule + 1, `bits ${info.bits} vs rule ${rule}`);
});

test('empty and constant tensors', () => {
  const empty = encodePaperDelta(new Float32Array(0), null, 1e-3);
  assert.equal(decodePaperDelta(empty, null).length, 0);
  const c = new Float32Array(100).fill(3.25);
  assert.deepEqual(decodePaperDelta(encodePaperDelta(c, null, 1e-3), null), c);
  assert.deepEqual(decodePaperDelta(encodePaperDelta(c, c, 1e-3), c), c);
});

test('NaN/Inf, bad tolerance and mismatched bases are rejected with INVALID_ARGUMENT', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  bad(() => encodePaperDelta(Float32Array.of(1, NaN), null, 1e-3));
  bad(() => encodePaperDelta(Float32Array.of(1, Infinity), null, 1e-3));
  bad(() => encodePaperDelta(Float32Array.of(1, 2), Float32Array.of(1), 1e-3));
  bad(() => encodePaperDelta(Float32Array.of(1, 2), null, -1));
  bad(() => encodePaperDelta(Float32Array.of(-1e30, 0.5, 1e30), null, 1e-9));
});

test('truncated or corrupted headers are INVALID_ARGUMENT, never a wrong-length tensor', () => {
  const x = randomTensor(9, 1000, 0.1);
  const blob = encodePaperDelta(x, null, 1e-3);
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  for (const cut of [0, 1, 2, 5, blob.length - 1]) bad(() => decodePaperDelta(blob.subarray(0, cut), null));
  bad(() => decodePaperDelta(Uint8Array.from([...blob, 0]), null));
  const wrongMagic = blob.slice();
  wrongMagic[0] = 0;
  bad(() => decodePaperDelta(wrongMagic, null));
  bad(() => decodePaperDelta(blob, new Float32Array(3)));
});
