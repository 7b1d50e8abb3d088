// ScratchArena: results cut inside a run hold what was written and never overlap (oracle: copies taken as they
// were written), across region growth and nested runs; the next run cuts from the same memory; outside a run each
// result is fresh memory. And lossless bodies coded one after another in one thread (their planes cut from
// CODED_SCRATCH) each decode to their own bytes after the other was coded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../env/seeded-random.js';
import { ScratchArena } from './scratch-buffer.js';
import { decodeLossless, encodeLossless } from './lossless.js';
import { toBf16Bits } from './half-float.js';

const rng = new SeededRandom(41);

/** A result of `n` seeded bytes (written through `fill`) and the copy it must keep equal to. */
function cut(arena: ScratchArena, n: number, slack = 7): { got: Uint8Array; want: Uint8Array } {
  const want = Uint8Array.from({ length: n }, () => rng.int(256));
  const got = arena.fill(n + slack, (into) => {
    assert.ok(into.length >= n + slack, 'the view is as long as asked');
    into.set(want);
    return n;
  });
  return { got, want };
}

test('inside a run, results keep their bytes across growth and nesting; the next run reuses the memory', () => {
  const arena = new ScratchArena();
  const sizes = [1, 100, 70_000, 1 << 20, (3 << 20) + 5, 17, 2 << 20];
  const regions = arena.run(() => {
    const made = sizes.map((n) => cut(arena, n));
    const inner = arena.run(() => [cut(arena, 5000), cut(arena, 9)]);
    made.push(...inner, cut(arena, 123_456)); // cut after the inner run returned: must not overwrite it
    for (const [i, { got, want }] of made.entries()) assert.ok(Buffer.from(got).equals(want), `result ${i} (${got.length} bytes) kept its bytes`);
    return new Set(made.map((m) => m.got.buffer));
  });
  const again = arena.run(() => cut(arena, 1000).got);
  assert.ok(regions.has(again.buffer), 'the next run cuts from a region the last one used');
});

test('outside a run, each result is fresh memory of its own', () => {
  const arena = new ScratchArena();
  const a = cut(arena, 5000);
  const b = cut(arena, 5000);
  assert.notEqual(a.got.buffer, b.got.buffer);
  assert.ok(Buffer.from(a.got).equals(a.want) && Buffer.from(b.got).equals(b.want));
});

test('lossless bodies coded one after another each decode to their own bytes', () => {
  const chunks = [0.02, 0.5, 0.001].map((scale) => {
    const w = Float32Array.from({ length: 300_000 }, () => rng.gaussian() * scale);
    return new Uint8Array(Uint16Array.from(w, (v) => toBf16Bits(v)).buffer);
  });
  // A near copy of the first, coded against it: its high plane is mostly zeros (the sparse coder).
  const near = chunks[0]!.map((b, i) => (i % 2 === 1 && rng.next() < 0.05 ? b ^ 1 : b));
  const bodies = chunks.map((c) => encodeLossless(c, 2));
  const nearBody = encodeLossless(near, 2, chunks[0]!);
  for (const [i, c] of chunks.entries()) assert.ok(Buffer.from(decodeLossless(bodies[i]!)).equals(c), `chunk ${i}`);
  assert.ok(Buffer.from(decodeLossless(nearBody, chunks[0]!)).equals(near), 'the near copy');
});
