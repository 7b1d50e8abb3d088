/**
 * @deprecated Use `SeededRandom` from `src/env/seeded-random.ts` (`next()`, `gaussian()`), the project's one
 * seeded generator. This mulberry32 copy stays only because files outside codecs/ still import it
 * (store/testing/mnist-digits.ts, store/testing/mnist-eval.test.ts, scripts/mnist-family.ts) and their
 * outputs depend on its exact sequence; delete it once they have moved. Nothing in codecs/ uses it.
 */

/** @deprecated Use `new SeededRandom(seed).next()`. Returns a function giving uniform floats in [0, 1), fully determined by `seed` (a 32-bit integer). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** @deprecated Use `SeededRandom#gaussian()`. Standard normal samples (Box-Muller) from a uniform generator. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = 1 - rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}
