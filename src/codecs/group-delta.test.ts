import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGroupDelta, decodeGroupDeltaBytes, encodeGroupDelta, encodeGroupDeltaDecoded, groupDeltaEncodedSize } from './group-delta.js';
import { encodePaperDelta } from './paper-delta.js';
import { RANS_CODER, ZSTD_CODER } from './entropy-coder.js';
import { roundTo, toBf16Bits, toDTypeBytes, toF16Bits } from './half-float.js';
import type { FloatDType } from './float-ulp.js';
import { SeededRandom } from '../env/seeded-random.js';
import { isNeurStoreError } from '../errors.js';
import { ByteWriter } from './byte-io.js';

function maxErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function fineTunePair(seed: number, n: number, dtype: FloatDType = 'F32'): { x: Float32Array; base: Float32Array } {
  const rng = new SeededRandom(seed);
  const base = new Float32Array(n).map(() => roundTo(dtype, rng.gaussian() * 0.2 + (seed % 2) * 3));
  const x = base.map((v) => roundTo(dtype, v + rng.gaussian() * 0.004));
  return { x, base };
}

const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));

test('bound holds on the final values for F32, F16 and BF16 outputs, with and without a base', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    for (let seed = 1; seed <= 6; seed++) {
      const { x, base } = fineTunePair(seed, 300 + seed * 211, dtype);
      for (const tol of [1e-1, 1e-2, 1e-3, 1e-4, 1e-7]) {
        for (const b of [base, null]) {
          const groupSize = [1, 7, 64, 256, 100000][seed % 5]!;
          const dec = decodeGroupDelta(encodeGroupDelta(x, b, tol, { dtype, groupSize }), b);
          assert.equal(dec.dtype, dtype);
          assert.ok(maxErr(dec.values, x) <= tol, `${dtype} seed ${seed} tol ${tol}: ${maxErr(dec.values, x)}`);
          for (const v of dec.values.subarray(0, 50)) assert.equal(roundTo(dtype, v), v);
        }
      }
    }
  }
});

test('NaN and infinities are stored exactly, the rest of the tensor stays within tol', () => {
  const { x, base } = fineTunePair(3, 1000);
  x[5] = NaN;
  x[600] = Infinity;
  x[601] = -Infinity;
  base[900] = NaN;
  const out = decodeGroupDelta(encodeGroupDelta(x, base, 1e-3, { groupSize: 64 }), base).values;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]!)) assert.ok(Number.isNaN(out[i]!));
    else if (!Number.isFinite(x[i]!)) assert.equal(out[i], x[i]);
    else assert.ok(Math.abs(out[i]! - x[i]!) <= 1e-3, `element ${i}`);
  }
});

test('empty and constant tensors', () => {
  const e = decodeGroupDelta(encodeGroupDelta(new Float32Array(0), null, 1e-3), null);
  assert.equal(e.values.length, 0);
  const c = new Float32Array(777).fill(-2.5);
  const blob = encodeGroupDelta(c, null, 1e-3);
  assert.ok(maxErr(decodeGroupDelta(blob, null).values, c) <= 1e-3);
  assert.ok(blob.length < 64, `constant tensor takes ${blob.length} bytes`);
});

test('smaller than the paper codec on a fine-tune delta at the same bound, with either coder', () => {
  const { x, base } = fineTunePair(8, 50000);
  for (const tol of [1e-3, 1e-2]) {
    const paper = encodePaperDelta(x, base, tol).length;
    for (const coder of [RANS_CODER, ZSTD_CODER]) {
      const ours = groupDeltaEncodedSize(x, base, tol, { coder });
      assert.ok(ours < paper, `tol ${tol} ${coder.name}: ${ours} vs paper ${paper}`);
    }
  }
});

test('encoding is deterministic', () => {
  const { x, base } = fineTunePair(4, 5000);
  assert.deepEqual(encodeGroupDelta(x, base, 1e-3), encodeGroupDelta(x, base, 1e-3));
});

test('bad arguments and corrupted or truncated blobs are INVALID_ARGUMENT', () => {
  const { x, base } = fineTunePair(2, 3000);
  bad(() => encodeGroupDelta(x, base, 0));
  bad(() => encodeGroupDelta(x, base, 1e-3, { groupSize: 0 }));
  bad(() => encodeGroupDelta(x, base.subarray(1), 1e-3));
  const blob = encodeGroupDelta(x, base, 1e-3);
  bad(() => decodeGroupDelta(blob, null));
  bad(() => decodeGroupDelta(blob, base.subarray(1)));
  for (let cut = 0; cut < blob.length; cut += Math.max(1, Math.floor(blob.length / 40))) {
    bad(() => decodeGroupDelta(blob.subarray(0, cut), base));
  }
  let caught = 0;
  for (let i = 0; i < blob.length; i += 13) {
    const c = blob.slice();
    c[i]! ^= 0xff;
    try {
      const out = decodeGroupDelta(c, base).values;
      assert.equal(out.length, x.length);
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), String(e));
      caught++;
    }
  }
  assert.ok(caught > 0);
});

/** A hand-made F32 blob without a base: one group of step 0.5 around `center`, every stream stored raw. */
function handBlob(codes: number[], overflow: number[], center = 0): Uint8Array {
  const meta = new ByteWriter().f32(0.5).varint(center >= 0 ? 2 * center : -2 * center - 1).finish();
  const w = new ByteWriter().u8(0xd2).u8(1).u8(0).u8(0).varint(codes.length).varint(codes.length);
  for (const stream of [meta, Uint8Array.from(codes), Uint8Array.from(overflow), new Uint8Array(0)]) w.u8(0).varint(stream.length).block(stream);
  return w.finish();
}

test('codes and overflow values decode exactly; a bad overflow stream or center is INVALID_ARGUMENT', () => {
  // Center 10, step 0.5. Codes 0, 1, 2 -> d = 0, -1, +1; 255 + 0 -> unzigzag(255) = -128; 255 + 300 (varint
  // ac 02) -> unzigzag(555) = -278.
  const ok = decodeGroupDelta(handBlob([0, 1, 2, 255, 255], [0, 0xac, 0x02], 10), null).values;
  assert.deepEqual([...ok], [5, 4.5, 5.5, -59, -134]);
  bad(() => decodeGroupDelta(handBlob([255, 255], [0]), null)); // one overflow value for two 255 codes
  bad(() => decodeGroupDelta(handBlob([255], [0, 0]), null)); // an overflow value left over
  bad(() => decodeGroupDelta(handBlob([255], [0x80]), null)); // ends inside a varint
  bad(() => decodeGroupDelta(handBlob([255], [0xff, 0xff, 0xff, 0x7f]), null)); // 2^28 - 1 > 4 * 2^23
  bad(() => decodeGroupDelta(handBlob([255], [0x80, 0x80, 0x80, 0x80, 0x01]), null)); // five bytes
  bad(() => decodeGroupDelta(handBlob([2], [], 2 ** 23), null)); // q = 2^23 + 1 is out of range
  bad(() => decodeGroupDelta(handBlob([0], [], 2 ** 23 + 1), null)); // a center out of range
  assert.deepEqual([...decodeGroupDelta(handBlob([1], [], 2 ** 23), null).values], [(2 ** 23 - 1) * 0.5]);
});

test('a tolerance finer than the fp16 grid stores exact 16-bit values, not f32', () => {
  const { x } = fineTunePair(5, 4096, 'F16');
  const blob = encodeGroupDelta(x, null, 1e-7, { dtype: 'F16' });
  assert.ok(blob.length <= x.length * 2 + 64, `${blob.length} bytes for ${x.length} fp16 values`);
  assert.deepEqual(decodeGroupDelta(blob, null).values, x);
});

test('encodeGroupDeltaDecoded reports exactly what the blob decodes to and its largest error, from float32 values or 16-bit patterns', () => {
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    for (let seed = 1; seed <= 4; seed++) {
      const { x, base } = fineTunePair(seed + 40, 3000 + seed * 97, dtype);
      x[17] = NaN;
      x[2500] = -Infinity;
      x[seed * 300] = roundTo(dtype, x[seed * 300]! + 5); // a far outlier: overflow codes
      for (const tol of [1e-2, 1e-3, 1e-5]) {
        for (const b of [base, null]) {
          const options = { dtype, groupSize: [64, 1024, 7, 1000][seed - 1]! };
          const r = encodeGroupDeltaDecoded(x, b, tol, options);
          const decoded = Uint8Array.from(r.decoded);
          const values = decodeGroupDelta(r.body, b).values;
          // Oracle: a full decode, turned into dtype bytes, and the brute-force largest error.
          assert.deepEqual(decoded, toDTypeBytes(values, dtype), `${dtype} seed ${seed} tol ${tol} base ${!!b}`);
          assert.deepEqual(decodeGroupDeltaBytes(r.body, b), { bytes: toDTypeBytes(values, dtype), dtype });
          let m = 0;
          for (let i = 0; i < x.length; i++) {
            if (Number.isNaN(x[i]!)) assert.ok(Number.isNaN(values[i]!));
            else if (x[i] !== values[i]) m = Math.max(m, Math.abs(x[i]! - values[i]!));
          }
          assert.equal(r.maxError, m);
          assert.ok(m <= tol);
          assert.deepEqual(r.body, encodeGroupDelta(x, b, tol, options));
          if (dtype === 'F32') continue;
          // The same tensor as 16-bit patterns: the same blob and decoded bytes.
          const toBits = dtype === 'F16' ? toF16Bits : toBf16Bits;
          const r16 = encodeGroupDeltaDecoded(Uint16Array.from(x, toBits), b && Uint16Array.from(b, toBits), tol, options);
          assert.deepEqual(r16.body, r.body);
          assert.deepEqual(r16.decoded, decoded);
          assert.equal(r16.maxError, r.maxError);
          assert.deepEqual(decodeGroupDeltaBytes(r.body, b && Uint16Array.from(b, toBits)).bytes, toDTypeBytes(values, dtype));
        }
      }
    }
  }
  bad(() => encodeGroupDeltaDecoded(new Uint16Array(4), null, 1e-3, { dtype: 'F32' }));
});

test('decodeGroupDeltaBytes rejects what decodeGroupDelta rejects', () => {
  for (const dtype of ['F32', 'BF16'] as const) {
    const { x, base } = fineTunePair(9, 2000, dtype);
    x[3] = roundTo(dtype, x[3]! + 3);
    const blob = encodeGroupDelta(x, base, 1e-3, { dtype, groupSize: 100 });
    bad(() => decodeGroupDeltaBytes(blob, null));
    bad(() => decodeGroupDeltaBytes(blob, base.subarray(1)));
    for (let cut = 1; cut < blob.length; cut += Math.max(1, blob.length >> 4)) {
      assert.throws(() => decodeGroupDelta(blob.subarray(0, cut), base));
      bad(() => decodeGroupDeltaBytes(blob.subarray(0, cut), base));
    }
    if (dtype === 'F32') bad(() => decodeGroupDeltaBytes(blob, new Uint16Array(base.length)));
  }
});
