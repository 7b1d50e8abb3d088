// The optimal PLA fit: every key predicted within epsilon, and never more segments than a greedy
// shrinking-cone fit (a feasible but not optimal segmentation), on seeded data sets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSegments } from './pla-fit.js';
import { diff64, PairRun, SeededRandom } from './u64.js';

function runOf(keys: number[]): PairRun {
  const r = new PairRun(keys.length);
  for (const k of keys) r.push(Math.floor(k / 2 ** 32), k >>> 0, 0, 0);
  return r;
}

/** Greedy cone through each segment's first point (FITing-tree style); feasible, not optimal. */
function greedyCount(keys: number[], eps: number): number {
  let count = 0;
  let i = 0;
  while (i < keys.length) {
    count++;
    let lo = -Infinity;
    let hi = Infinity;
    let j = i + 1;
    for (; j < keys.length; j++) {
      const dx = keys[j] - keys[i];
      const nlo = Math.max(lo, (j - i - eps) / dx);
      const nhi = Math.min(hi, (j - i + eps) / dx);
      if (nlo > nhi) break;
      lo = nlo;
      hi = nhi;
    }
    i = j;
  }
  return count;
}

function dataset(kind: string, n: number, seed: number): number[] {
  const r = new SeededRandom(seed);
  const s = new Set<number>();
  while (s.size < n) {
    const u = r.next();
    s.add(Math.floor(kind === 'uniform' ? u * 2 ** 52 : kind === 'lognormal' ? Math.exp(8 * u) * 1e9 : u * u * 1e13));
  }
  return [...s].sort((a, b) => a - b);
}

for (const kind of ['uniform', 'lognormal', 'quadratic']) {
  for (const eps of [1, 8, 32]) {
    test(`${kind} keys, eps ${eps}: within bound and no worse than greedy`, () => {
      const keys = dataset(kind, 20_000, eps);
      const run = runOf(keys);
      const segs = fitSegments(run, eps, 1 << 30);
      assert.equal(segs[0].start, 0);
      assert.equal(segs[segs.length - 1].end, keys.length);
      for (let s = 0; s < segs.length; s++) {
        const g = segs[s];
        if (s > 0) assert.equal(g.start, segs[s - 1].end);
        for (let i = g.start; i < g.end; i++) {
          const x = diff64(run.khi[i], run.klo[i], run.khi[g.start], run.klo[g.start]);
          const err = Math.abs(g.intercept + g.slope * x - (i - g.start));
          assert.ok(err <= eps + 1e-6, `segment ${s} key ${i}: error ${err}`);
        }
      }
      assert.ok(segs.length <= greedyCount(keys, eps), `${segs.length} segments vs greedy ${greedyCount(keys, eps)}`);
    });
  }
}

test('maxKeys caps segment length', () => {
  const keys = Array.from({ length: 1000 }, (_, i) => i * 10);
  const segs = fitSegments(runOf(keys), 4, 128);
  assert.equal(segs.length, 8);
  assert.ok(segs.every((g) => g.end - g.start <= 128));
});
