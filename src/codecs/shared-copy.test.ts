import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../env/seeded-random.js';
import { copyBytes } from './shared-copy.js';

const rng = new SeededRandom(41);

/** `n` bytes of `kind` memory at offset `off` of a buffer with room around them. */
function region(kind: 'shared' | 'plain', n: number, off: number): Uint8Array {
  const memory = kind === 'shared' ? new SharedArrayBuffer(n + off + 32) : new ArrayBuffer(n + off + 32);
  return new Uint8Array(memory).fill(0xee).subarray(off, off + n + 16);
}

test('copyBytes copies exactly what set() copies, between shared and plain memory at every alignment', () => {
  // Sizes below and above the bounce threshold and the 8 MiB slice; offsets covering every residue mod 8.
  for (const n of [0, 5, 70_000, 8 * 1024 * 1024 + 13]) {
    const bytes = rng.bytes(n);
    for (const from of ['shared', 'plain'] as const) {
      for (const to of ['shared', 'plain'] as const) {
        for (const [so, to_] of [[0, 0], [3, 0], [0, 5], [7, 2], [1, 1]] as const) {
          const source = region(from, n, so).subarray(0, n);
          source.set(bytes);
          const target = region(to, n + 4, to_);
          const want = target.slice();
          want.set(bytes, 3);
          copyBytes(target, source, 3);
          assert.ok(Buffer.from(target).equals(Buffer.from(want)), `${n} bytes ${from}+${so} -> ${to}+${to_}: same bytes, nothing else touched`);
        }
      }
    }
  }
});

test('copyBytes throws as set() does when the target is too small', () => {
  const source = new Uint8Array(new SharedArrayBuffer(100_000));
  assert.throws(() => copyBytes(new Uint8Array(99_999), source), RangeError);
  assert.throws(() => copyBytes(new Uint8Array(99_998), source.subarray(3), 2), RangeError, "misaligned: the bounced copy checks too");
});
