/**
 * The project's one seeded pseudo-random generator (SplitMix32-style mixing over a 32-bit state) for tests,
 * benchmarks, the engine's few random choices and the pure layers' seeded decisions (HNSW levels). It lives in
 * env/, the bottom layer, so every layer may import it; pure layers take an instance (or a seed) as an argument
 * and never call Math.random. The whole state is one uint32, so a user can persist it and resume the sequence.
 */

export class SeededRandom {
  private s: number;

  /** `seed` is any number; only its low 32 bits are used. */
  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The current state; `new SeededRandom(rng.state)` continues the same sequence. */
  get state(): number {
    return this.s;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.s = (this.s + 0x9e3779b9) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal draw (Box-Muller over two uniform draws). */
  gaussian(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `n` uniform random bytes (a new array the caller owns). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }

  /** Uniform 64-bit unsigned integer. */
  u64(): bigint {
    return (BigInt(this.nextU32()) << 32n) | BigInt(this.nextU32());
  }
}
