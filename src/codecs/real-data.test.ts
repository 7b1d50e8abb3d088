// Codec properties on real weights: every float tensor of the shared MNIST checkpoints and of the TF.js
// faceres / faceres-deep models (a real fine-tune pair; faceres stores fp16, faceres-deep f32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_MNIST_DIR, ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { decodeGroupDelta, encodeGroupDelta } from './group-delta.js';
import { decodePaperDelta, encodePaperDelta } from './paper-delta.js';
import { decodeLossless, encodeLossless } from './lossless.js';
import { dequantize8, quantize8 } from './quant8.js';
import { fromF16Bits } from './half-float.js';

interface Tensor { name: string; shape: number[]; values: Float32Array; dtype: 'F32' | 'F16' }

function tfjsTensors(model: string): Tensor[] {
  const manifest = JSON.parse(readFileSync(fixturePath('human-models', `${model}.json`), 'utf8'));
  const out: Tensor[] = [];
  for (const group of manifest.weightsManifest) {
    const bin = Buffer.concat(group.paths.map((p: string) => readFileSync(fixturePath('human-models', p))));
    let off = 0;
    for (const w of group.weights) {
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      const q = w.quantization?.dtype;
      const width = q === 'float16' ? 2 : q === 'uint8' ? 1 : 4;
      const bytes = Uint8Array.from(bin.subarray(off, off + n * width));
      off += n * width;
      if (w.dtype !== 'float32' || q === 'uint8') continue;
      const values = q === 'float16' ? Float32Array.from(new Uint16Array(bytes.buffer), fromF16Bits) : new Float32Array(bytes.buffer);
      out.push({ name: w.name, shape: w.shape, values, dtype: q === 'float16' ? 'F16' : 'F32' });
    }
  }
  return out;
}

function mnistTensors(): Tensor[] {
  const out: Tensor[] = [];
  for (const f of readdirSync(SHARED_MNIST_DIR).filter((n) => n.endsWith('.safetensors')).sort()) {
    const buf = readFileSync(join(SHARED_MNIST_DIR, f));
    const hlen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8'));
    for (const [name, t] of Object.entries<{ dtype: string; shape: number[]; data_offsets: [number, number] }>(header)) {
      if (name === '__metadata__' || t.dtype !== 'F32') continue;
      const bytes = Uint8Array.from(buf.subarray(8 + hlen + t.data_offsets[0], 8 + hlen + t.data_offsets[1]));
      out.push({ name: `${f}:${name}`, shape: t.shape, values: new Float32Array(bytes.buffer), dtype: 'F32' });
    }
  }
  return out;
}

ensureFixtures();
const faceres = tfjsTensors('faceres');
const deep = tfjsTensors('faceres-deep');
const mnist = mnistTensors();
const byName = new Map(faceres.map((t) => [t.name, t]));
const pairs = deep.filter((t) => byName.get(t.name)?.shape.join() === t.shape.join()).map((t) => ({ x: t, base: byName.get(t.name)! }));

function maxErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('fixtures parsed: 127 faceres tensors paired with faceres-deep, 6 MNIST tensors', () => {
  assert.equal(pairs.length, 127);
  assert.equal(mnist.length, 6);
});

test('paper delta keeps max|x - x\'| <= tol on every real tensor (own 8-bit base, and fine-tune against base)', () => {
  const tol = 1e-3;
  for (const t of [...mnist, ...faceres]) {
    const base = dequantize8(quantize8(t.values));
    assert.ok(maxErr(decodePaperDelta(encodePaperDelta(t.values, base, tol), base), t.values) <= tol, t.name);
  }
  for (const { x, base } of pairs) {
    const b = dequantize8(quantize8(base.values));
    assert.ok(maxErr(decodePaperDelta(encodePaperDelta(x.values, b, tol), b), x.values) <= tol, x.name);
  }
});

test('default codec keeps the bound on every real tensor, fp16 tensors in fp16, and beats paper on the fine-tune pair', () => {
  const tol = 1e-2;
  for (const t of [...mnist, ...faceres]) {
    const dec = decodeGroupDelta(encodeGroupDelta(t.values, null, tol, { dtype: t.dtype }), null);
    assert.ok(maxErr(dec.values, t.values) <= tol, t.name);
  }
  let ours = 0;
  let paper = 0;
  for (const { x, base } of pairs) {
    const blob = encodeGroupDelta(x.values, base.values, tol);
    assert.ok(maxErr(decodeGroupDelta(blob, base.values).values, x.values) <= tol, x.name);
    ours += blob.length;
    paper += encodePaperDelta(x.values, dequantize8(quantize8(base.values)), tol).length;
  }
  assert.ok(ours < paper * 0.6, `default ${ours} bytes vs paper ${paper}`);
});

test('lossless is bit-exact on every real tensor, alone and XORed against the fine-tune base', () => {
  const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  for (const t of mnist) assert.deepEqual(decodeLossless(encodeLossless(bytesOf(t.values), 4)), bytesOf(t.values), t.name);
  let alone = 0;
  let xored = 0;
  for (const { x, base } of pairs) {
    const xb = bytesOf(x.values);
    const bb = bytesOf(base.values);
    const a = encodeLossless(xb, 4);
    const b = encodeLossless(xb, 4, bb);
    assert.deepEqual(decodeLossless(b, bb), xb, x.name);
    alone += a.length;
    xored += b.length;
  }
  assert.ok(xored < alone, `xor ${xored} vs alone ${alone}`);
});
