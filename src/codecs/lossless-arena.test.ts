import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeLossless, decodeLosslessChain, encodeLossless, encodeLosslessOnChain } from './lossless.js';
import { SeededRandom } from '../env/seeded-random.js';
import { toBf16Bits } from './half-float.js';
import { tsPlaneArena, wasmCodecKernels, type PlaneArena } from '../kernels/codec-kernels.js';

/**
 * The plane arena (byte planes split, coded, decoded and merged in the wasm module's memory, or in ordinary
 * memory by the TS arena) must not change a byte: blobs equal those of the path without an arena (an arena
 * that never has room), and every blob decodes to the original bytes through each path.
 */
const rng = new SeededRandom(23);
const NO_ARENA: PlaneArena = { reserve: () => null, merge: () => assert.fail(), split: () => assert.fail(), xor: () => assert.fail(), release: () => undefined };
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

/** Bytes near `of`: some low bytes of its elements flipped (a fine-tune of it). */
function nudged(of: Uint8Array, width: number): Uint8Array {
  return of.map((b, i) => (i % width === 0 && rng.next() < 0.3 ? b ^ (1 + rng.int(3)) : b));
}

test('base chains decode and code against in the plane domain as byte by byte, on every arena', () => {
  // Chains of 1-3 links of one width (planes XORed as planes), and chains the plane domain does not fit: links
  // of another width, a 1-byte link coded as a difference (baseOp 2), each checked against the plain path.
  for (const count of [0, 17, 40_003]) {
    for (const [widths, label] of [[[2, 2, 2], 'w2'], [[4, 4], 'w4'], [[8], 'w8'], [[1, 1], 'w1'], [[2, 4, 2], 'mixed'], [[2, 1], 'w2 then w1']] as const) {
      const w = widths[0]!;
      const root = new Uint8Array(Uint16Array.from({ length: (count * 8) / 2 }, () => toBf16Bits(rng.gaussian() * 0.02)).buffer);
      const versions: Uint8Array[] = [root];
      const chain = [encodeLossless(root, w, null, {}, NO_ARENA)];
      for (const lw of widths.slice(1)) {
        const next = nudged(versions.at(-1)!, lw);
        chain.push(encodeLossless(next, lw, versions.at(-1)!, {}, NO_ARENA));
        versions.push(next);
      }
      const base = versions.at(-1)!;
      const tuned = nudged(base, w);
      const want = encodeLossless(tuned, w, base, {}, NO_ARENA);
      for (const [arena, a] of arenas) {
        const name = `${label} n${count}: ${arena}`;
        assert.deepEqual(decodeLosslessChain(chain, undefined, a), base, `${name}: the chain decodes to its last version`);
        const blob = encodeLosslessOnChain(tuned, w, chain, {}, a);
        assert.deepEqual(blob, want, `${name}: coded against the chain as against its bytes`);
        assert.deepEqual(decodeLosslessChain([...chain, blob], undefined, a), tuned, `${name}: decoded through the chain`);
        assert.deepEqual(encodeLosslessOnChain(tuned, w === 8 ? 4 : 8, chain, {}, a), encodeLossless(tuned, w === 8 ? 4 : 8, base, {}, NO_ARENA), `${name}: another width`);
      }
    }
  }
});

test('a bad chain fails the same way on every arena, and the arena is released', () => {
  const root = new Uint8Array(Uint16Array.from({ length: 30_000 }, () => toBf16Bits(rng.gaussian() * 0.02)).buffer);
  const next = nudged(root, 2);
  const chain = [encodeLossless(root, 2, null), encodeLossless(next, 2, root)];
  const bad = new Uint8Array(chain[1]!);
  bad[bad.length - 5]! ^= 0xff;
  for (const [name, a] of arenas) {
    assert.throws(() => decodeLosslessChain([chain[1]!], undefined, a), /encoded with a base, decoded without/, name);
    assert.throws(() => decodeLosslessChain([], undefined, a), /no records/, name);
    assert.throws(() => decodeLosslessChain([chain[0]!, bad.subarray(0, bad.length - 3)], undefined, a), /malformed/, name);
    assert.throws(() => encodeLosslessOnChain(next, 2, [chain[0]!, bad.subarray(0, bad.length - 3)], {}, a), /malformed/, name);
    assert.throws(() => encodeLosslessOnChain(next.subarray(0, 1000), 2, chain, {}, a), /base has 60000 bytes, tensor has 1000/, name);
    assert.deepEqual(decodeLosslessChain(chain, undefined, a), next, `${name}: after a failure`);
  }
});
