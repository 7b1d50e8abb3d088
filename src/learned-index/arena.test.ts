// The arena's block allocator against an interval oracle: live blocks never overlap, freed blocks are
// reused (split when only a larger class has one) instead of growing the memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena } from './arena.js';
import { SeededRandom } from './u64.js';

test('a freed large block is split to serve smaller classes before the bump pointer moves', () => {
  const a = Arena.create(1 << 16, 1 << 24);
  const big = a.alloc(20_000);
  a.alloc(4); // keeps `big` from being the last block
  const used = a.usedBytes();
  a.free(big, 20_000);
  const blockWords = Arena.blockBytes(20_000) / 4;
  const got: number[] = [];
  for (const w of [64, 1000, 5000, 64]) {
    const p = a.alloc(w);
    got.push(p);
    assert.ok(p >= big && p + w <= big + blockWords, `block of ${w} words at ${p} lies inside the freed one`);
  }
  assert.equal(a.usedBytes(), used, 'the arena did not grow');
});

test('random allocations and frees never hand out overlapping blocks', () => {
  const a = Arena.create(1 << 16, 1 << 26);
  const r = new SeededRandom(11);
  const live = new Map<number, number>(); // pointer -> words asked for
  const sizes = [4, 8, 20, 64, 100, 1000, 4096, 20_000];
  for (let op = 0; op < 20_000; op++) {
    if (live.size > 0 && r.int(100) < 45) {
      const ptrs = [...live.keys()];
      const p = ptrs[r.int(ptrs.length)];
      a.free(p, live.get(p)!);
      live.delete(p);
    } else {
      const w = sizes[r.int(sizes.length)];
      const p = a.alloc(w);
      assert.equal(p % 4, 0);
      for (let i = p; i < p + w; i++) assert.equal(a.u32[i], 0, 'allocated blocks are zeroed');
      a.u32.fill(op + 1, p, p + w); // a later overlap would show as someone else's words
      live.set(p, w);
    }
  }
  const spans = [...live].map(([p, w]) => [p, p + w]).sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1][1] <= spans[i][0], `blocks ${i - 1} and ${i} overlap`);
  for (const [p, w] of live) {
    const mark = a.u32[p];
    for (let i = p; i < p + w; i++) assert.equal(a.u32[i], mark, `block at ${p} was overwritten`);
  }
});
