/**
 * Test support: bf16 weights as LLM checkpoints hold them (little-endian bytes), N(0, 0.02), or a fine-tune of
 * given weights (`from` plus N(0, noise)), from the caller's seeded generator.
 */
import type { SeededRandom } from '../../env/seeded-random.js';

export function bf16Weights(rng: SeededRandom, n: number, from?: Uint8Array, noise = 0): Uint8Array {
  const out = new Uint8Array(n * 2);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    if (from) u[0] = (from[2 * i]! | (from[2 * i + 1]! << 8)) << 16;
    const base = from ? f[0]! : rng.gaussian() * 0.02;
    f[0] = base + (noise ? rng.gaussian() * noise : 0);
    out[2 * i] = (u[0]! >>> 16) & 0xff;
    out[2 * i + 1] = u[0]! >>> 24;
  }
  return out;
}
