import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLossless, encodeLossless } from './lossless.js';
import { SeededRandom } from '../env/seeded-random.js';
import { toBf16Bits } from './half-float.js';
import { tsPlaneArena, wasmCodecKernels, type PlaneArena } from '../kernels/codec-kernels.js';

/**
 * The plane arena (byte planes split, coded, decoded and merged in the wasm module's memory, or in ordinary
 * memory by the TS arena) must not change a byte: blobs equal those of the path without an arena (an arena
 * that never has room), and every blob decodes to the original bytes through each path.
 */
const rng = new SeededRandom(23);
const NO_ARENA: PlaneArena = { reserve: () => null, merge: () => assert.fail(), split: () => assert.fail(), release: () => undefined };
const wasm = wasmCodecKernels();
const arenas: Array<[string, PlaneArena]> = [['none', NO_ARENA], ['ts', tsPlaneArena()]];
if (wasm) arenas.push(['wasm', wasm.arena]);

test('the wasm plane arena is built (npm test builds the kernels)', () => {
  assert.ok(wasm, 'run `node scripts/build-kernels.mjs`');
});

/** bf16-like weights (a large sparse XOR against `near`), random bytes (raw planes), and a constant run. */
function cases(): Array<[string, Uint8Array, number, Uint8Array | null]> {
  const out: Array<[string, Uint8Array, number, Uint8Array | null]> = [];
  for (const width of [1, 2, 4, 8]) {
    // Element counts around the kernels' 16-element SIMD blocks, and one large enough for the sparse coder.
    for (const count of [0, 1, 15, 17, 4099, 40_003]) {
      const w = Float32Array.from({ length: count * width }, () => rng.gaussian() * 0.02);
      const bytes = new Uint8Array(Uint16Array.from(w, (v) => toBf16Bits(v)).buffer).subarray(0, count * width);
      const near = bytes.map((b, i) => (i % 2 === 0 && rng.next() < 0.3 ? b ^ (1 + rng.int(3)) : b));
      const random = Uint8Array.from({ length: count * width }, () => rng.int(256));
      out.push([`w${width} n${count} alone`, bytes, width, null], [`w${width} n${count} xor`, near, width, bytes]);
      out.push([`w${width} n${count} random xor`, random, width, bytes], [`w${width} n${count} zeros`, new Uint8Array(count * width), width, null]);
    }
  }
  return out;
}

test('the arenas encode byte-identical blobs and decode them to the original bytes', () => {
  for (const [name, bytes, width, base] of cases()) {
    for (const effort of ['default', 'max'] as const) {
      if (effort === 'max' && bytes.length > 20_000) continue; // max tries every coder: slow on the big cases
      const want = encodeLossless(bytes, width, base, { effort }, NO_ARENA);
      for (const [arena, a] of arenas) {
        const blob = encodeLossless(bytes, width, base, { effort }, a);
        assert.deepEqual(blob, want, `${name} ${effort}: ${arena} blob`);
        assert.ok(blob.byteOffset === 0 && blob.byteLength === blob.buffer.byteLength, `${name}: the blob is its whole buffer`);
        for (const [dec, d] of arenas) {
          const back = decodeLossless(blob, base, undefined, d);
          assert.deepEqual(back, bytes, `${name} ${effort}: encoded by ${arena}, decoded by ${dec}`);
        }
      }
    }
  }
});

test('decoding through the arena into a caller-provided view and with a shared-memory base', () => {
  const bytes = Uint8Array.from({ length: 2 * 50_000 }, (_, i) => (i % 2 ? 0x3c : rng.int(256)));
  const base = new Uint8Array(new SharedArrayBuffer(bytes.length));
  base.set(bytes.map((b, i) => (i % 7 === 0 ? b ^ 0x40 : b)));
  const blob = encodeLossless(bytes, 2, base);
  for (const [name, a] of arenas) {
    const into = new Uint8Array(bytes.length + 64).fill(0xee);
    const out = decodeLossless(blob, base, (n) => into.subarray(16, 16 + n), a);
    assert.deepEqual(out, bytes, name);
    assert.ok(into.subarray(0, 16).every((b) => b === 0xee) && into.subarray(16 + bytes.length).every((b) => b === 0xee), `${name}: wrote outside its view`);
  }
});

test('a corrupt plane fails through the arena as without it, and the arena is released for the next user', () => {
  const bytes = new Uint8Array(Uint16Array.from({ length: 30_000 }, () => toBf16Bits(rng.gaussian() * 0.02)).buffer);
  const blob = encodeLossless(bytes, 2, null);
  const bad = new Uint8Array(blob); // a copy (Buffer.slice would be a view)
  bad[bad.length - 5]! ^= 0xff;
  bad[20]! ^= 0xff;
  for (const [name, a] of arenas) {
    assert.throws(() => decodeLossless(bad.subarray(0, bad.length - 3), null, undefined, a), /INVALID_ARGUMENT|malformed|truncated|decodes/, name);
    assert.deepEqual(decodeLossless(blob, null, undefined, a), bytes, `${name}: after a failure`);
  }
});
