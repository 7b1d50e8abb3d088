/**
 * Version 3 of the lossless codec (zstd plane setting, sparse coder, efforts) against the original bytes, old
 * version-2 blobs written by the previous encoder (src/codecs/testdata, regenerated here from the same seed),
 * and truncated or bit-flipped blobs (INVALID_ARGUMENT or, when a flip still decodes, the right length: the
 * store's SHA-256 check catches those).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeLossless, encodeLossless, type LosslessEffort } from './lossless.js';
import { SPARSE_CODER, ZSTD_PLANE_CODER, entropyCoderById } from './entropy-coder.js';
import { SeededRandom } from '../env/seeded-random.js';
import { toBf16Bits } from './half-float.js';
import { isNeurStoreError } from '../errors.js';

const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const bf16Of = (x: Float32Array) => asBytes(Uint16Array.from(x, (v) => toBf16Bits(v)));

// An LLM-like bf16 tensor (N(0, 0.02)) and its fine-tune (+ N(0, 0.001)): planes of 64 KiB and more take the
// zstd plane setting, the fine-tune's XOR high bytes (~90% zeros) the sparse coder.
const rng = new SeededRandom(31);
const w = new Float32Array(100_000).map(() => rng.gaussian() * 0.02);
const base = bf16Of(w);
const tune = bf16Of(w.map((v) => v + rng.gaussian() * 0.001));

/** The coder ids of a blob's planes. */
function planeCoders(blob: Uint8Array): number[] {
  const width = blob[2]!;
  let at = 4;
  while (blob[at]! & 0x80) at++;
  at++;
  const ids: number[] = [];
  for (let p = 0; p < width; p++) {
    ids.push(blob[at++]!);
    let len = 0;
    let shift = 0;
    for (;;) {
      const b = blob[at++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    at += len;
  }
  assert.equal(at, blob.length);
  return ids;
}

test('every effort round-trips bf16 weights and an XOR fine-tune; default is within 2% of rANS planes', () => {
  const size: Record<string, number> = {};
  for (const effort of ['default', 'max', 'rans'] as LosslessEffort[]) {
    const a = encodeLossless(base, 2, null, { effort });
    const b = encodeLossless(tune, 2, base, { effort });
    assert.deepEqual(decodeLossless(a), base, effort);
    assert.deepEqual(decodeLossless(b, base), tune, effort);
    assert.equal(a[1], 3);
    size[effort] = a.length + b.length;
  }
  assert.ok(size.default! <= size.rans! * 1.02, `default ${size.default} vs rANS ${size.rans}`);
  assert.ok(size.max! <= size.rans!, `max ${size.max} vs rANS ${size.rans}`);
  assert.deepEqual(planeCoders(encodeLossless(base, 2)), [0, ZSTD_PLANE_CODER.id]); // noisy low bytes stay raw
  assert.deepEqual(planeCoders(encodeLossless(tune, 2, base)), [ZSTD_PLANE_CODER.id, SPARSE_CODER.id]);
});

test('the sparse coder round-trips any fill value and length, and refuses a wrong length', () => {
  const r = new SeededRandom(5);
  for (const n of [0, 1, 9, 4096, 70_001]) {
    const input = Uint8Array.from({ length: n }, () => (r.next() < 0.85 ? 7 : r.int(256)));
    const blob = SPARSE_CODER.encode(input);
    assert.deepEqual(entropyCoderById(SPARSE_CODER.id).decode(blob, n), input, `n=${n}`);
    assert.throws(() => SPARSE_CODER.decode(blob, n + 1), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  }
});

test('version-2 blobs written by the previous encoder still decode to their original bytes', () => {
  // The generator of src/codecs/testdata/lossless-v2-*.bin (written by the version-2 encoder).
  const g = new SeededRandom(2026);
  const w2 = new Float32Array(40000).map(() => g.gaussian() * 0.02);
  const bf = bf16Of(w2);
  const b2 = new Float32Array(5000).map(() => g.gaussian() * 0.05);
  const t2 = b2.map((v) => v + g.gaussian() * 1e-4);
  const v2bf = new Uint8Array(readFileSync(new URL('./testdata/lossless-v2-bf16.bin', import.meta.url)));
  const v2xor = new Uint8Array(readFileSync(new URL('./testdata/lossless-v2-f32-xor.bin', import.meta.url)));
  assert.equal(v2bf[1], 2);
  assert.equal(v2xor[1], 2);
  assert.deepEqual(decodeLossless(v2bf), bf);
  assert.deepEqual(decodeLossless(v2xor, asBytes(b2)), asBytes(t2));
  // A version-2 blob may not use the sparse coder (id 3 came with version 3).
  const forged = encodeLossless(tune, 2, base);
  forged[1] = 2;
  assert.throws(() => decodeLossless(forged, base), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('truncated and bit-flipped version-3 blobs are INVALID_ARGUMENT or decode to the right length, never crash', () => {
  const blob = encodeLossless(tune.subarray(0, 60_000), 2, base.subarray(0, 60_000));
  const small = encodeLossless(tune.subarray(0, 6000), 2, base.subarray(0, 6000));
  for (const [b, against] of [[blob, base.subarray(0, 60_000)], [small, base.subarray(0, 6000)]] as const) {
    for (let cut = 0; cut < b.length; cut += Math.max(1, Math.floor(b.length / 60))) {
      assert.throws(() => decodeLossless(b.subarray(0, cut), against), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'), `cut ${cut}`);
    }
    const r = new SeededRandom(77);
    let caught = 0;
    for (let k = 0; k < 300; k++) {
      const c = b.slice();
      c[r.int(c.length)]! ^= 1 << r.int(8);
      try {
        assert.equal(decodeLossless(c, against).length, against.length);
      } catch (e) {
        assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), String(e));
        caught++;
      }
    }
    assert.ok(caught > 0);
  }
});
