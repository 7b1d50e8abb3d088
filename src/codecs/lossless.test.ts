import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress } from 'zstd-napi';
import { decodeLossless, encodeLossless, losslessInfo } from './lossless.js';
import { SeededRandom } from '../env/seeded-random.js';
import { toBf16Bits, toF16Bits } from './half-float.js';
import { isNeurStoreError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';

const rng = new SeededRandom(11);
const weights = new Float32Array(20000).map(() => rng.gaussian() * 0.05);
const tuned = weights.map((v) => v + rng.gaussian() * 1e-4);
const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f16 = asBytes(Uint16Array.from(weights, (v) => toF16Bits(v)));
const bf16 = asBytes(Uint16Array.from(weights, (v) => toBf16Bits(v)));

/** ZipNN-style baseline: byte planes, each zstd-compressed. */
function byteGroupedZstd(bytes: Uint8Array, width: number): number {
  const n = bytes.length / width;
  let total = 0;
  for (let k = 0; k < width; k++) {
    total += compress(Uint8Array.from({ length: n }, (_, i) => bytes[i * width + k]!), { compressionLevel: 3 }).length;
  }
  return total;
}

test('bit-exact round trip for F32, F16, BF16, 8-byte and 1-byte elements, with and without a base', () => {
  const cases: Array<[Uint8Array, number, Uint8Array | null]> = [
    [asBytes(tuned), 4, null],
    [asBytes(tuned), 4, asBytes(weights)],
    [f16, 2, null],
    [bf16, 2, bf16.map((b, i) => (i % 5 === 0 ? b ^ 1 : b))],
    [asBytes(Float64Array.from(weights)), 8, null],
    [f16.subarray(0, 999), 1, null],
  ];
  for (const [bytes, width, base] of cases) {
    const blob = encodeLossless(bytes, width, base);
    assert.deepEqual(decodeLossless(blob, base), bytes, `width ${width}`);
    assert.equal(losslessInfo(blob).length, bytes.length);
  }
});

test('NaN payloads, infinities, -0 and subnormals round-trip exactly', () => {
  const u = Uint32Array.of(0x7fc00001, 0xffa12345, 0x7f800000, 0xff800000, 0x80000000, 0x00000001, 0x3f800000);
  const blob = encodeLossless(asBytes(u), 4, null);
  assert.deepEqual(decodeLossless(blob, null), asBytes(u));
  const base = Uint32Array.of(1, 2, 3, 4, 5, 6, 7);
  assert.deepEqual(decodeLossless(encodeLossless(asBytes(u), 4, asBytes(base)), asBytes(base)), asBytes(u));
});

test('empty and constant tensors', () => {
  assert.equal(decodeLossless(encodeLossless(new Uint8Array(0), 4)).length, 0);
  const c = asBytes(new Float32Array(10000).fill(0.5));
  const blob = encodeLossless(c, 4);
  assert.ok(blob.length < 40, `${blob.length} bytes`);
  assert.deepEqual(decodeLossless(blob), c);
});

test('matches or beats byte-grouped zstd, and XOR against a close base beats no base', () => {
  for (const [bytes, width] of [[asBytes(weights), 4], [f16, 2], [bf16, 2]] as const) {
    assert.ok(encodeLossless(bytes, width).length <= byteGroupedZstd(bytes, width) + 16);
  }
  const alone = encodeLossless(asBytes(tuned), 4).length;
  const xored = encodeLossless(asBytes(tuned), 4, asBytes(weights)).length;
  assert.ok(xored < alone, `xor ${xored} vs alone ${alone}`);
});

/** The tensors of a face-api TF.js model (bare manifest array): uint8-quantized ones as 1-byte elements. */
function faceApiTensors(stem: string): Array<{ name: string; bytes: Uint8Array; width: number }> {
  ensureFixtures();
  const manifest = JSON.parse(readFileSync(fixturePath('face-api', `${stem}-weights_manifest.json`), 'utf8'));
  const bin = readFileSync(fixturePath('face-api', `${stem}.bin`));
  const out: Array<{ name: string; bytes: Uint8Array; width: number }> = [];
  let off = 0;
  for (const w of manifest[0].weights) {
    const width = w.quantization?.dtype === 'uint8' ? 1 : 4;
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1) * width;
    out.push({ name: w.name, bytes: Uint8Array.from(bin.subarray(off, off + n)), width });
    off += n;
  }
  assert.equal(off, bin.length);
  return out;
}

test('real uint8-quantized tensors (face-api) round-trip and beat per-tensor byte-grouped zstd in total', () => {
  let ours = 0;
  let zipnn = 0;
  for (const t of faceApiTensors('face_landmark_68_model')) {
    const blob = encodeLossless(t.bytes, t.width);
    assert.deepEqual(decodeLossless(blob), t.bytes, t.name);
    ours += Math.min(blob.length, t.bytes.length);
    zipnn += byteGroupedZstd(t.bytes, t.width);
  }
  assert.ok(ours < zipnn * 0.99, `lossless ${ours} bytes vs byte-grouped zstd ${zipnn}`);
});

test('uint8 codes of a fine-tune (face-api expression) against its base (landmark): subtraction wins, exact', () => {
  const base = new Map(faceApiTensors('face_landmark_68_model').map((t) => [t.name, t]));
  let alone = 0;
  let against = 0;
  for (const t of faceApiTensors('face_expression_model')) {
    const b = base.get(t.name);
    if (!b || b.width !== 1 || t.width !== 1 || b.bytes.length !== t.bytes.length || t.bytes.length < 1024) continue;
    const blob = encodeLossless(t.bytes, 1, b.bytes);
    assert.equal(blob[3], 2, `${t.name} uses subtraction`);
    assert.deepEqual(decodeLossless(blob, b.bytes), t.bytes, t.name);
    alone += encodeLossless(t.bytes, 1).length;
    against += blob.length;
  }
  assert.ok(against < alone * 0.9, `against the base ${against} bytes, alone ${alone}`);
  // A subtraction blob decoded with the wrong base gives other bytes; the store's identity check catches that.
  const c = encodeLossless(Uint8Array.of(5, 6, 7, 8), 1, Uint8Array.of(4, 5, 6, 7));
  assert.equal(c[3], 2);
  assert.deepEqual(decodeLossless(c, Uint8Array.of(4, 5, 6, 7)), Uint8Array.of(5, 6, 7, 8));
  assert.deepEqual(decodeLossless(c, Uint8Array.of(0, 0, 0, 255)), Uint8Array.of(1, 1, 1, 0));
});

test('a bad base operation in the header is INVALID_ARGUMENT', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  const f32 = encodeLossless(asBytes(weights.subarray(0, 100)), 4, asBytes(tuned.subarray(0, 100)));
  assert.equal(f32[3], 1);
  bad(() => decodeLossless(Uint8Array.of(...f32.subarray(0, 3), 2, ...f32.subarray(4)), asBytes(tuned.subarray(0, 100))));
  bad(() => decodeLossless(Uint8Array.of(...f32.subarray(0, 3), 3, ...f32.subarray(4)), asBytes(tuned.subarray(0, 100))));
});

test('version-1 blobs (exact rANS tables) are rejected as unsupported', () => {
  const blob = encodeLossless(f16, 2);
  blob[1] = 1;
  assert.throws(() => decodeLossless(blob), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /version/.test((e as Error).message));
});

test('bad arguments and corrupted or truncated blobs are INVALID_ARGUMENT', () => {
  const bad = (f: () => unknown) => assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  bad(() => encodeLossless(new Uint8Array(6), 4));
  bad(() => encodeLossless(new Uint8Array(8), 3));
  bad(() => encodeLossless(new Uint8Array(8), 4, new Uint8Array(4)));
  const bytes = asBytes(tuned.subarray(0, 3000));
  const blob = encodeLossless(bytes, 4);
  bad(() => decodeLossless(blob, bytes));
  for (let cut = 0; cut < blob.length; cut += Math.max(1, Math.floor(blob.length / 40))) {
    bad(() => decodeLossless(blob.subarray(0, cut)));
  }
  let caught = 0;
  for (let i = 0; i < blob.length; i += 17) {
    const c = blob.slice();
    c[i]! ^= 0xff;
    try {
      assert.equal(decodeLossless(c).length, bytes.length);
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), String(e));
      caught++;
    }
  }
  assert.ok(caught > 0);
});
