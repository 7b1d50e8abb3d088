import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TS_KERNELS, kernels, kernelsBackend, loadKernels, wasmKernels, type Kernels } from './kernels.js';
import { ransDecodeWith } from './kernels-ts.js';
import { SeededRandom } from '../env/seeded-random.js';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { ransEncode, ransStreamParts } from '../codecs/rans-coder.js';
import { chooseTable } from '../codecs/rans-table.js';
import { roundTo, toBf16Bits, toF16Bits } from '../codecs/half-float.js';

/** Every F32 tensor of the shared MNIST safetensors checkpoints (u64 header length, JSON header, data). */
function mnistTensors(): Float32Array[] {
  const out: Float32Array[] = [];
  for (const f of readdirSync(SHARED_MNIST_DIR).filter((n) => n.endsWith('.safetensors')).sort()) {
    const buf = readFileSync(join(SHARED_MNIST_DIR, f));
    const hlen = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + hlen).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__' || t.dtype !== 'F32') continue;
      const bytes = buf.subarray(8 + hlen + t.data_offsets[0], 8 + hlen + t.data_offsets[1]);
      out.push(new Float32Array(Uint8Array.from(bytes).buffer));
    }
  }
  return out;
}

const rng = new SeededRandom(2024);
const seeded = [0, 1, 3, 4, 5, 15, 16, 17, 1000, 4099].map((n) => new Float32Array(n).map(() => rng.gaussian()));
const real = mnistTensors();
/** 0, 0.5, 1, ... 255: with scale 1 every other code is an exact half (Math.round's tie rule decides it). */
const halves = Float32Array.from({ length: 511 }, (_, i) => i / 2);
const vectors = [...seeded, ...real, halves];
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f64Bytes = (v: number) => bytesOf(Float64Array.of(v));

/** Runs every kernel of `k` on `x` (and a perturbed partner) and returns all outputs as byte arrays. */
function runAll(k: Kernels, x: Float32Array): Uint8Array[] {
  const n = x.length;
  const y = x.map((v, i) => v + Math.sin(i) * 1e-3);
  const out: Uint8Array[] = [];
  const xb = bytesOf(x);
  const yb = bytesOf(y);
  const xor = new Uint8Array(xb.length);
  k.xorBytes(xb, yb, xor);
  out.push(xor);
  for (const width of [1, 2, 4, 8]) {
    const src = xb.subarray(0, xb.length - (xb.length % width));
    const planes = new Uint8Array(src.length);
    k.splitPlanes(src, width, planes);
    const back = new Uint8Array(src.length);
    k.mergePlanes(planes, width, back);
    out.push(planes, back);
  }
  const codes = Uint8Array.from(x, (v) => Math.min(255, Math.max(0, Math.round(v * 40 + 128))));
  const codes2 = Uint8Array.from(y, (v) => Math.min(255, Math.max(0, Math.round(v * 41 + 127))));
  const q8 = new Uint8Array(n);
  const range = k.quantize8(x, q8);
  const bad = Float32Array.from(x);
  bad[n >> 1] = NaN;
  const res = new Int32Array(n);
  const peak = k.residualCodes(x, y, 1 / 0.0019, 2 ** 30, res);
  out.push(q8, f64Bytes(range!.min), f64Bytes(range!.scale), f64Bytes(k.quantize8(bad, new Uint8Array(n)) === null ? 1 : 0));
  out.push(bytesOf(res), f64Bytes(peak), f64Bytes(k.residualCodes(x, y, 1 / 0.0019, 3, res)));
  out.push(f64Bytes(k.residualCodes(bad, y, 1 / 0.0019, 2 ** 30, new Int32Array(n)))); // NaN: -1
  const deq = new Float32Array(n);
  k.dequantize8(codes, -3.2, 0.025, deq);
  out.push(bytesOf(deq), f64Bytes(k.sqL2Quant8(codes, -3.2, 0.025, codes2, -3.1, 0.0244)), f64Bytes(k.dotF32(x, y)));
  for (const [g, base] of [[64, y], [7, null], [1 << 20, y]] as const) {
    const steps = new Float32Array(Math.ceil(n / g)).map((_, i) => (i % 5 === 3 ? 0 : 0.002 * (1 + (i % 3))));
    const q = new Int32Array(n);
    k.quantizeGroups(x, base, steps, g, q);
    const v = new Float32Array(n);
    k.dequantizeGroups(q, base, steps, g, v);
    out.push(bytesOf(q), bytesOf(v));
    // The same groups from one-byte codes (x * 500: many codes overflow), then with the overflow values cut
    // short and with a maxCode that some codes exceed: results and error returns must match too.
    const big = new Int32Array(n);
    k.quantizeGroups(x.map((e) => e * 500), base, steps, g, big);
    const c = groupCodes(big, steps, g);
    const cut = c.overflow.subarray(0, c.overflow.length >> 1);
    const long = new Uint8Array(5 + c.overflow.length); // a 5-byte varint first
    long.set([0xff, 0xff, 0xff, 0xff, 0x01]);
    long.set(c.overflow, 5);
    for (const [overflow, maxCode] of [[c.overflow, 2 ** 23], [cut, 2 ** 23], [long, 2 ** 23], [c.overflow, 300]] as const) {
      const w = new Float32Array(n);
      const r = k.dequantizeCodes(c.codes, c.centers, steps, overflow, base, g, maxCode, w);
      out.push(bytesOf(Int32Array.of(r)), r >= 0 ? bytesOf(w) : new Uint8Array(0)); // out is unspecified after an error
    }
  }
  return out;
}

/** A group-delta encoder's codes for quantized values q: center = round(mean), zigzag codes, 255 + varint. */
function groupCodes(q: Int32Array, steps: Float32Array, g: number): { codes: Uint8Array; centers: Int32Array; overflow: Uint8Array; overflows: number } {
  const codes: number[] = [];
  const overflow: number[] = [];
  let overflows = 0;
  const centers = new Int32Array(steps.length);
  for (let k = 0; k < steps.length; k++) {
    if (!(steps[k]! > 0)) continue;
    const start = k * g;
    const end = Math.min(q.length, start + g);
    let sum = 0;
    for (let i = start; i < end; i++) sum += q[i]!;
    centers[k] = Math.round(sum / (end - start));
    for (let i = start; i < end; i++) {
      const d = q[i]! - centers[k]!;
      const z = d >= 0 ? 2 * d : -2 * d - 1;
      codes.push(Math.min(z, 255));
      if (z < 255) continue;
      overflows++;
      for (let v = z - 255; ; v >>>= 7) {
        overflow.push(v < 0x80 ? v : (v & 0x7f) | 0x80);
        if (v < 0x80) break;
      }
    }
  }
  return { codes: Uint8Array.from(codes), centers, overflow: Uint8Array.from(overflow), overflows };
}

test('kernelsBackend reports the active backend and why', () => {
  const b = kernelsBackend();
  assert.equal(b.backend, wasmKernels() ? 'wasm' : 'ts');
  assert.equal(kernels(), wasmKernels() ?? TS_KERNELS);
  assert.ok(b.reason.length > 0);
});

test('wasm and TS kernels give identical bytes on seeded random and real MNIST tensors', (t) => {
  const w = wasmKernels();
  if (!w) {
    t.skip(`wasm not available: ${kernelsBackend().reason}`);
    return;
  }
  assert.ok(real.length >= 6);
  for (const x of vectors) {
    const a = runAll(TS_KERNELS, x);
    const b = runAll(w, x);
    assert.equal(a.length, b.length);
    a.forEach((bytes, i) => assert.deepEqual(b[i], bytes, `output ${i} for n=${x.length}`));
  }
});

test('TS kernels agree with straightforward oracles', () => {
  const k = TS_KERNELS;
  const x = seeded[8]!;
  const y = seeded[9]!.subarray(0, x.length);
  let dot = 0;
  for (let i = 0; i < x.length; i++) dot += x[i]! * y[i]!;
  assert.ok(Math.abs(k.dotF32(x, y) - dot) <= 1e-12 * x.length);
  const a = Uint8Array.from(x, (_, i) => (i * 7) & 255);
  const b = Uint8Array.from(x, (_, i) => (i * 13) & 255);
  let l2 = 0;
  for (let i = 0; i < a.length; i++) l2 += ((0.5 + a[i]! * 0.01) - (-0.25 + b[i]! * 0.02)) ** 2;
  assert.ok(Math.abs(k.sqL2Quant8(a, 0.5, 0.01, b, -0.25, 0.02) - l2) <= 1e-9 * l2);
  const planes = new Uint8Array(8);
  k.splitPlanes(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), 4, planes);
  assert.deepEqual(planes, Uint8Array.of(1, 5, 2, 6, 3, 7, 4, 8));
  const q = new Int32Array(4);
  k.quantizeGroups(Float32Array.of(0.0149, -0.0151, 0.005, 1), Float32Array.of(0, 0, 0, 0), Float32Array.of(0.01, 0.01), 2, q);
  assert.deepEqual(q, Int32Array.of(1, -2, 1, 100));
  const v = new Float32Array(4);
  k.dequantizeGroups(q, null, Float32Array.of(0.01, 0.5), 2, v);
  assert.deepEqual(v, Float32Array.of(0.01, -0.02, 0.5, 50));
  // quantize8 and residualCodes against their definitions (Math.round in float64), halves and edges included.
  const halves = Float32Array.of(0, 255, 0.5, 1.5, 2.5, -0.5 + 1, 127.5, 254.5, 3.25);
  const hc = new Uint8Array(halves.length);
  assert.deepEqual(k.quantize8(halves, hc), { min: 0, scale: 1 });
  assert.deepEqual([...hc], [0, 255, 1, 2, 3, 1, 128, 255, 3]);
  assert.deepEqual(k.quantize8(new Float32Array(3).fill(-2.5), hc.subarray(0, 3)), { min: -2.5, scale: 0 });
  assert.deepEqual([...hc.subarray(0, 3)], [0, 0, 0]);
  assert.deepEqual(k.quantize8(new Float32Array(0), new Uint8Array(0)), { min: 0, scale: 0 });
  assert.equal(k.quantize8(Float32Array.of(1, Infinity), new Uint8Array(2)), null);
  const rc = new Int32Array(x.length);
  const peak = k.residualCodes(x, y, 1 / 0.003, 2 ** 30, rc);
  let top = 0;
  for (let i = 0; i < x.length; i++) {
    assert.equal(rc[i], Math.round((x[i]! - y[i]!) * (1 / 0.003)) || 0, `residual ${i}`);
    top = Math.max(top, Math.abs(rc[i]!));
  }
  assert.equal(peak, top);
  assert.equal(k.residualCodes(x, y, 1 / 0.003, top, rc), -1);
  assert.equal(k.residualCodes(Float32Array.of(NaN), Float32Array.of(0), 1, 10, new Int32Array(1)), -1);
  // dequantizeCodes = dequantizeGroups of q rebuilt from codes (raw groups 0), on a seeded tensor with overflows.
  const g = 16;
  const base = y.map((e) => e * 0.5);
  const steps = new Float32Array(Math.ceil(x.length / g)).map((_, i) => (i % 4 === 1 ? 0 : 0.001));
  const big = new Int32Array(x.length);
  k.quantizeGroups(x, base, steps, g, big);
  const c = groupCodes(big, steps, g);
  assert.ok(c.overflows > 10 && c.overflow.length > c.overflows, `${c.overflows} overflow codes, ${c.overflow.length} bytes`);
  const want = new Float32Array(x.length);
  k.dequantizeGroups(big, base, steps, g, want);
  for (let i = 0; i < want.length; i++) if (!(steps[Math.floor(i / g)]! > 0)) want[i] = 0;
  const got = new Float32Array(x.length).fill(7);
  assert.equal(k.dequantizeCodes(c.codes, c.centers, steps, c.overflow, base, g, 2 ** 23, got), c.overflow.length);
  assert.deepEqual(got, want);
  const firstOverflow = c.codes.indexOf(255);
  const at = (j: number): number => { // element index of code j (raw groups take no codes)
    let seen = 0;
    for (let i = 0; i < x.length; i++) if (steps[Math.floor(i / g)]! > 0 && seen++ === j) return i;
    return -1;
  };
  assert.equal(k.dequantizeCodes(c.codes, c.centers, steps, c.overflow.subarray(0, 0), base, g, 2 ** 23, got), -1 - x.length - at(firstOverflow));
  const fiveBytes = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01);
  assert.equal(k.dequantizeCodes(c.codes, c.centers, steps, fiveBytes, base, g, 2 ** 23, got), -1 - x.length - at(firstOverflow));
});

test('a missing or broken wasm build falls back to TS and says so', async () => {
  const missing = await loadKernels(() => Promise.reject(new Error('ERR_MODULE_NOT_FOUND')));
  assert.equal(missing.wasm, null);
  assert.match(missing.reason, /not built/);
  const broken = await loadKernels(() => Promise.resolve({ KERNELS_WASM_BASE64: 'AGFzbQ==' }));
  assert.equal(broken.wasm, null);
  assert.match(broken.reason, /failed to load/);
});

test('short-stream and slot-table rANS decoders agree on short real streams, including corrupted ones', () => {
  let tested = 0;
  for (const x of real) {
    for (const n of [1, 7, 100, 1000, 4095]) {
      if (x.length < n) continue;
      const codes = Uint8Array.from(x.subarray(0, n), (v) => Math.min(255, Math.abs(Math.round(v / 1e-3))));
      const parts = ransStreamParts(ransEncode(codes));
      if (!parts) continue;
      tested++;
      const variants = [parts.stream, parts.stream.subarray(0, Math.max(0, parts.stream.length - 2)), parts.stream.map((b, i) => (i === 3 ? b ^ 0x10 : b))];
      for (const [k, stream] of variants.entries()) {
        const a: Uint8Array = new Uint8Array(parts.n);
        const b: Uint8Array = new Uint8Array(parts.n);
        const ra: number = ransDecodeWith(parts.freq, stream, parts.states, a, false);
        assert.equal(ra, ransDecodeWith(parts.freq, stream, parts.states, b, true), `n ${n} variant ${k}`);
        if (k === 0) assert.deepEqual(a, codes);
        if (ra >= 0) assert.deepEqual(a, b);
      }
    }
  }
  assert.ok(tested >= 8, `${tested} streams tested`);
});

test('wasm and TS rANS decoders agree on real quantized codes, including corrupted streams', (t) => {
  const w = wasmKernels();
  if (!w) {
    t.skip('wasm not available');
    return;
  }
  let tested = 0;
  let eight = 0;
  const all = new Float32Array(real.reduce((n, v) => n + v.length, 0)); // long enough for 8 states
  real.reduce((at, v) => (all.set(v, at), at + v.length), 0);
  for (const x of [...real.filter((v) => v.length > 1000), all]) {
    for (const step of [1e-3, 1e-2]) {
      const codes = Uint8Array.from(x, (v) => Math.min(255, Math.abs(Math.round(v / step))));
      const parts = ransStreamParts(ransEncode(codes));
      if (!parts) continue; // stored raw: not compressible enough to be worth coding
      tested++;
      if (parts.states.length === 8) eight++;
      const variants = [parts.stream, parts.stream.subarray(0, parts.stream.length - 2), parts.stream.map((b, i) => (i === 40 ? b ^ 0x10 : b))];
      for (const [k, stream] of variants.entries()) {
        const a: Uint8Array = new Uint8Array(parts.n);
        const b: Uint8Array = new Uint8Array(parts.n);
        const ra: number = TS_KERNELS.ransDecode(parts.freq, stream, parts.states, a);
        const rb: number = w.ransDecode(parts.freq, stream, parts.states, b);
        assert.equal(rb, ra, `variant ${k}`);
        if (k === 0) {
          assert.equal(ra, parts.stream.length);
          assert.deepEqual(a, codes);
        }
        if (ra >= 0) assert.deepEqual(b, a);
      }
    }
  }
  assert.ok(tested >= 4, `${tested} streams tested`);
  assert.ok(eight >= 1 && tested - eight >= 1, `${eight} of ${tested} streams with 8 states`);
});

/**
 * The fused group-delta encoder spelled out the slow way: quantize, decode each element with half-float.ts's
 * roundTo, nudge a missing element by one code (q - 1 first), drop the group when neither fits; then the
 * centers and codes as groupCodes makes them. Decoded values as dtype bits.
 */
function encodeGroupsOracle(
  x: Float32Array, base: Float32Array | null, steps: Float32Array, g: number, tol: number, dtype: 0 | 1 | 2,
): { steps: Float32Array; codes: Uint8Array; overflow: Uint8Array; centers: Int32Array; decoded: (number | null)[]; maxError: number } {
  const dt = (['F32', 'F16', 'BF16'] as const)[dtype];
  const s = Float32Array.from(steps);
  const q = new Int32Array(x.length);
  const decoded: (number | null)[] = new Array<number | null>(x.length).fill(null);
  let maxError = 0;
  const value = (c: number, i: number, step: number): number => {
    const p = Math.fround(Math.fround(c) * step);
    return roundTo(dt, base ? Math.fround(base[i]! + p) : p);
  };
  for (let k = 0; k < s.length; k++) {
    const step = s[k]!;
    if (!(step > 0)) continue;
    const end = Math.min(x.length, (k + 1) * g);
    const vals: number[] = [];
    let gmax = 0;
    for (let i = k * g; i < end; i++) {
      const d = base ? x[i]! - base[i]! : x[i]!;
      const c0 = Math.floor(d / step + 0.5);
      const c = [c0, c0 - 1, c0 + 1].find((c) => Math.abs(value(c, i, step) - x[i]!) <= tol);
      if (c === undefined) {
        s[k] = 0;
        break;
      }
      q[i] = c;
      vals.push(value(c, i, step));
      gmax = Math.max(gmax, Math.abs(value(c, i, step) - x[i]!));
    }
    if (s[k] === 0) continue;
    maxError = Math.max(maxError, gmax);
    vals.forEach((v, j) => (decoded[k * g + j] = dt === 'F32' ? new Uint32Array(Float32Array.of(v).buffer)[0]! : dt === 'F16' ? toF16Bits(v) : toBf16Bits(v)));
  }
  const c = groupCodes(q, s, g);
  return { steps: s, codes: c.codes, overflow: c.overflow, centers: c.centers, decoded, maxError };
}

/** encodeGroups of `k` on one input, its outputs trimmed to what is specified. */
function encodeGroupsWith(k: Kernels, x: Float32Array | Uint16Array, base: Float32Array | Uint16Array | null, steps: Float32Array, g: number, tol: number, dtype: 0 | 1 | 2) {
  const s = Float32Array.from(steps);
  const codes = new Uint8Array(x.length);
  const overflow = new Uint8Array(4 * x.length);
  const centers = new Int32Array(s.length);
  const width = dtype === 0 ? 4 : 2;
  const bytes = new Uint8Array(x.length * width);
  const r = k.encodeGroups(x, base, s, g, tol, dtype, codes, overflow, centers, bytes);
  const view = new DataView(bytes.buffer);
  const decoded = Array.from(x, (_, i) => (s[Math.floor(i / g)]! > 0 ? (width === 4 ? view.getUint32(4 * i, true) : view.getUint16(2 * i, true)) : null));
  for (let j = 0; j < s.length; j++) if (!(s[j]! > 0)) centers[j] = 0;
  return { steps: s, codes: codes.subarray(0, r.codes), overflow: overflow.subarray(0, r.overflow), centers, decoded, maxError: r.maxError };
}

/** Seeded group-delta inputs: a base, a fine-tune of it, steps near the bound (some 0, some too coarse). */
function groupInputs(n: number, seed: number, g: number, tol: number) {
  const r = new SeededRandom(seed);
  const base = new Float32Array(n).map(() => r.gaussian() * 0.05);
  const x = base.map((b, i) => (i % 97 === 5 ? b + r.gaussian() : b + r.gaussian() * 0.004));
  const steps = new Float32Array(Math.ceil(n / g)).map((_, k) => (k % 7 === 3 ? 0 : k % 11 === 4 ? 8 * tol : Math.fround(2 * tol * (1 - 2 ** -10) - (k % 3) * tol * 0.01)));
  return { x, base, steps };
}

test('encodeGroups matches its spelled-out oracle, and wasm matches TS, for every dtype, with and without a base', (t) => {
  const w = wasmKernels();
  let dropped = 0;
  let overflowed = 0;
  for (const [n, g] of [[5000, 64], [4099, 1024], [1000, 7], [3, 16]] as const) {
    for (const tol of [1e-3, 1e-2]) {
      const { x, base, steps } = groupInputs(n, n + g, g, tol);
      for (const b of [base, null]) {
        // Without a base x is coded alone: steps scaled up so codes stay in range.
        for (const dtype of [0, 1, 2] as const) {
          const xs = dtype === 0 ? x : x.map((v) => roundTo(dtype === 1 ? 'F16' : 'BF16', v));
          const want = encodeGroupsOracle(xs, b, steps, g, tol, dtype);
          const got = encodeGroupsWith(TS_KERNELS, xs, b, steps, g, tol, dtype);
          assert.deepEqual(got, want, `TS n=${n} g=${g} tol=${tol} base=${!!b} dtype=${dtype}`);
          if (w) assert.deepEqual(encodeGroupsWith(w, xs, b, steps, g, tol, dtype), want, `wasm n=${n} g=${g} tol=${tol} base=${!!b} dtype=${dtype}`);
          if (dtype !== 0) {
            // The same values given as 16-bit patterns (the base rounded to dtype too): widened exactly.
            const dt = dtype === 1 ? 'F16' : 'BF16';
            const toBits = dtype === 1 ? toF16Bits : toBf16Bits;
            const bh = b && b.map((v) => roundTo(dt, v));
            const want16 = encodeGroupsOracle(xs, bh, steps, g, tol, dtype);
            const xb = Uint16Array.from(xs, toBits);
            const bb = bh && Uint16Array.from(bh, toBits);
            for (const k of [TS_KERNELS, w]) {
              if (k) assert.deepEqual(encodeGroupsWith(k, xb, bb, steps, g, tol, dtype), want16, `16-bit n=${n} g=${g} base=${!!b} dtype=${dtype}`);
            }
          }
          dropped += want.steps.filter((s, k) => s === 0 && steps[k]! > 0).length;
          overflowed += want.overflow.length;
        }
      }
    }
  }
  assert.ok(dropped > 10 && overflowed > 100, `${dropped} dropped groups, ${overflowed} overflow bytes`);
  if (!w) t.diagnostic('wasm not available: TS only');
});

test('groupMagnitudes: largest |x| and |x - base| per group, -1 for a group with NaN or infinity; wasm = TS', () => {
  const { x, base } = groupInputs(3000, 9, 64, 1e-3);
  x[100] = NaN;
  base[700] = -Infinity;
  x[2999] = Infinity;
  for (const b of [base, null]) {
    const g = 64;
    const want = new Float64Array(Math.ceil(x.length / g)).map((_, k) => {
      let m = 0;
      for (let i = k * g; i < Math.min(x.length, (k + 1) * g); i++) {
        if (!Number.isFinite(x[i]!) || (b && !Number.isFinite(b[i]!))) return -1;
        m = Math.max(m, Math.abs(x[i]!), Math.abs(x[i]! - (b ? b[i]! : 0)));
      }
      return m;
    });
    for (const k of [TS_KERNELS, wasmKernels()]) {
      if (!k) continue;
      const got = new Float64Array(want.length);
      k.groupMagnitudes(x, b, g, got);
      assert.deepEqual(got, want);
    }
    // 16-bit patterns: the same as their float32 values.
    for (const [half, dt, toBits] of [[1, 'F16', toF16Bits], [2, 'BF16', toBf16Bits]] as const) {
      const xr = x.map((v) => roundTo(dt, v));
      const br = b && b.map((v) => roundTo(dt, v));
      const ref = new Float64Array(want.length);
      TS_KERNELS.groupMagnitudes(xr, br, 64, ref);
      for (const k of [TS_KERNELS, wasmKernels()]) {
        if (!k) continue;
        const got = new Float64Array(want.length);
        k.groupMagnitudes(Uint16Array.from(xr, toBits), br && Uint16Array.from(br, toBits), 64, got, half);
        assert.deepEqual(got, ref, `${dt}`);
      }
    }
  }
});

test('ransEncode: wasm and TS write the same stream and states, and it decodes back', () => {
  const r = new SeededRandom(77);
  for (const [n, k] of [[10, 2], [5000, 2], [4096, 8], [70001, 8]] as const) {
    const input = Uint8Array.from({ length: n }, () => Math.min(255, Math.floor(Math.abs(r.gaussian()) * 20)));
    input[n >> 1] = 255;
    const counts = new Uint32Array(256);
    for (const v of input) counts[v]!++;
    const freq = chooseTable(counts).freq;
    const results = [TS_KERNELS, wasmKernels()].filter((x): x is Kernels => x !== null).map((kk) => {
      const states = new Uint32Array(k).fill(1 << 23);
      const out = new Uint8Array(2 * n + 8);
      const p = kk.ransEncode(input, freq, states, out);
      return { states, stream: out.slice(p) };
    });
    for (const res of results) assert.deepEqual(res, results[0]);
    const back = new Uint8Array(n);
    const used = TS_KERNELS.ransDecode(freq, results[0]!.stream, Uint32Array.from(results[0]!.states), back);
    assert.equal(used, results[0]!.stream.length);
    assert.deepEqual(back, input);
  }
});

test('byteCounts adds each byte value count, wasm = TS = a plain count', () => {
  const r = new SeededRandom(5);
  for (const n of [0, 3, 4097, 70003]) {
    const input = Uint8Array.from({ length: n }, () => (r.next() < 0.5 ? 7 : Math.floor(r.next() * 256)));
    const want = new Uint32Array(256).fill(2);
    for (const v of input) want[v]!++;
    for (const k of [TS_KERNELS, wasmKernels()]) {
      if (!k) continue;
      const counts = new Uint32Array(256).fill(2);
      k.byteCounts(input, counts);
      assert.deepEqual(counts, want, `n=${n}`);
    }
  }
});

test('roundHalf rounds like roundTo and gives toF16Bits / toBf16Bits patterns, NaN and edges included; wasm = TS', () => {
  const r = new SeededRandom(11);
  const special = [0, -0, NaN, -NaN, Infinity, -Infinity, 65504, 65520, 1e-8, -3e-8, 6.1e-5, 3.4e38, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 2 ** -149];
  const src = Float32Array.from({ length: 5003 }, (_, i) => (i < special.length ? special[i]! : r.gaussian() * 10 ** (r.int(12) - 6)));
  const nanBits = new Uint32Array(src.buffer);
  nanBits[3] = 0xff812345; // a negative signaling NaN with a payload
  for (const [dtype, dt, toBits] of [[1, 'F16', toF16Bits], [2, 'BF16', toBf16Bits]] as const) {
    const wantBits = Uint16Array.from(src, (v) => toBits(v));
    const wantValues = Array.from(src, (v) => roundTo(dt, v));
    for (const k of [TS_KERNELS, wasmKernels()]) {
      if (!k) continue;
      const values = Float32Array.from(src);
      new Uint32Array(values.buffer)[3] = 0xff812345;
      const bits = new Uint16Array(src.length);
      k.roundHalf(values, dtype, bits);
      assert.deepEqual(bits, wantBits, dt);
      assert.deepEqual(Array.from(values), wantValues, dt); // NaN compares equal to NaN here
    }
  }
});

test('dequantizeCodesHalf = the 16-bit patterns of dequantizeCodes, errors included; wasm = TS; 16-bit bases', () => {
  const x = seeded[9]!;
  const n = x.length;
  const g = 16;
  const base = x.map((v, i) => roundTo('BF16', v * 0.5 + Math.sin(i)));
  const steps = new Float32Array(Math.ceil(n / g)).map((_, i) => (i % 4 === 1 ? 0 : 0.001));
  const big = new Int32Array(n);
  TS_KERNELS.quantizeGroups(x, base, steps, g, big);
  const c = groupCodes(big, steps, g);
  for (const [dtype, dt, toBits] of [[1, 'F16', toF16Bits], [2, 'BF16', toBf16Bits]] as const) {
    for (const b of [base.map((v) => roundTo(dt, v)), null]) {
      const vals = new Float32Array(n);
      const want = TS_KERNELS.dequantizeCodes(c.codes, c.centers, steps, c.overflow, b, g, 2 ** 23, vals);
      assert.equal(want, c.overflow.length);
      const wantBits = Array.from(vals, (v, i) => (steps[Math.floor(i / g)]! > 0 ? toBits(v) : -1));
      for (const k of [TS_KERNELS, wasmKernels()]) {
        if (!k) continue;
        for (const bb of b ? [b, Uint16Array.from(b, toBits)] : [null]) {
          const bits = new Uint16Array(n);
          assert.equal(k.dequantizeCodesHalf(c.codes, c.centers, steps, c.overflow, bb, g, 2 ** 23, dtype, bits), want);
          assert.deepEqual(Array.from(bits, (v, i) => (steps[Math.floor(i / g)]! > 0 ? v : -1)), wantBits, dt);
          // Error returns as dequantizeCodes: a cut overflow stream, a maxCode some codes exceed.
          for (const [ov, maxCode] of [[c.overflow.subarray(0, c.overflow.length >> 1), 2 ** 23], [c.overflow, 300]] as const) {
            assert.equal(k.dequantizeCodesHalf(c.codes, c.centers, steps, ov, bb, g, maxCode, dtype, new Uint16Array(n)),
              TS_KERNELS.dequantizeCodes(c.codes, c.centers, steps, ov, b, g, maxCode, new Float32Array(n)));
          }
        }
      }
    }
  }
});

test('encodeGroups with a step rule computes the steps (exponent from the bits), then encodes as with them; wasm = TS', () => {
  const rule = { shrink: 1 - 2 ** -10, halfMaxCode: 2 ** 22 };
  /** The rule spelled out: the exponent by search over powers of two, not from the bits. */
  const ruleSteps = (x: Float32Array, base: Float32Array | null, g: number, tol: number, dtype: 0 | 1 | 2): Float32Array => {
    const mags = new Float64Array(Math.ceil(x.length / g));
    TS_KERNELS.groupMagnitudes(x, base, g, mags);
    const u = (m: number, mant: number, minExp: number): number => {
      let e = minExp;
      if (m > 0) {
        let k = 0;
        while (2 ** k > m) k--;
        while (2 ** (k + 1) <= m) k++;
        e = Math.max(k, minExp);
      }
      return 2 ** (e + 1 - mant);
    };
    return Float32Array.from(mags, (m) => {
      if (m < 0) return 0;
      const budget = u(m, 23, -126) + [0, u(m, 10, -14), u(m, 7, -126)][dtype]!;
      let step = Math.fround((2 * tol - budget) * rule.shrink);
      if (step < tol) step = Math.fround(2 * tol * rule.shrink);
      return m / step < rule.halfMaxCode ? step : 0;
    });
  };
  let dropped = 0;
  for (const [n, g] of [[5000, 64], [3001, 1024], [999, 7]] as const) {
    const r = new SeededRandom(n);
    // Magnitudes from 1e-6 to 1e4 (fp16's grid is coarser than tol up there: groups get dropped), a NaN, an infinity.
    const base = Float32Array.from({ length: n }, (_, i) => r.gaussian() * 10 ** ((Math.floor(i / g) % 11) - 6));
    const x = base.map((v) => v + r.gaussian() * 3e-3);
    x[n >> 1] = NaN;
    base[n >> 2] = Infinity;
    for (const tol of [1e-3, 1e-5]) {
      for (const b of [base, null]) {
        for (const dtype of [0, 1, 2] as const) {
          const dt = (['F32', 'F16', 'BF16'] as const)[dtype];
          const xs = x.map((v) => roundTo(dt, v));
          const bs = b && b.map((v) => roundTo(dt, v));
          const steps = ruleSteps(xs, bs, g, tol, dtype);
          const want = encodeGroupsOracle(xs, bs, steps, g, tol, dtype);
          dropped += want.steps.filter((s, k) => s === 0 && steps[k]! > 0).length;
          for (const k of [TS_KERNELS, wasmKernels()]) {
            if (!k) continue;
            const s = new Float32Array(steps.length).fill(7); // ignored: the rule writes every step
            const codes = new Uint8Array(n);
            const overflow = new Uint8Array(4 * n);
            const centers = new Int32Array(s.length);
            const decoded = new Uint8Array(n * (dtype === 0 ? 4 : 2));
            const res = k.encodeGroups(xs, bs, s, g, tol, dtype, codes, overflow, centers, decoded, rule);
            const plain = encodeGroupsWith(k, xs, bs, steps, g, tol, dtype);
            assert.deepEqual(s, want.steps, `steps n=${n} tol=${tol} base=${!!b} ${dt}`);
            assert.deepEqual([codes.subarray(0, res.codes), overflow.subarray(0, res.overflow), res.maxError], [plain.codes, plain.overflow, plain.maxError]);
            assert.deepEqual(plain, want);
          }
        }
      }
    }
  }
  assert.ok(dropped > 5, `${dropped} dropped groups`);
});
