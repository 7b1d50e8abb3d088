/**
 * A tiny seeded pseudo-random generator (mulberry32) for the pure vector-index layer, which may not use
 * Math.random. Its whole state is one uint32, so an index can persist it and keep drawing the same levels
 * after a reload.
 */

/** Deterministic uint32-state generator; `next()` is uniform in [0, 1). */
export class SeededRng {
  private s: number;

  /** `seed` is any number; only its low 32 bits are used. */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The current state; `new SeededRng(rng.state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  /** Next uniform draw in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal draw (Box-Muller); used by tests and synthetic data. */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
