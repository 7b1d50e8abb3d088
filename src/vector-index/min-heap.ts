/**
 * A binary heap of (distance, slot) pairs in parallel arrays, the priority queue of HNSW search. `sign`
 * turns it into a max-heap, so one class serves both the candidate queue and the bounded result set.
 */

/** Heap ordered by `key * sign` (sign 1: min-heap, -1: max-heap); ties broken by smaller `value` first. */
export class PairHeap {
  private readonly keys: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly sign: 1 | -1) {}

  get size(): number {
    return this.keys.length;
  }

  /** Key at the top (smallest for a min-heap, largest for a max-heap); undefined when empty. */
  topKey(): number | undefined {
    return this.keys[0];
  }

  topValue(): number | undefined {
    return this.values[0];
  }

  push(key: number, value: number): void {
    this.keys.push(key);
    this.values.push(value);
    this.up(this.keys.length - 1);
  }

  /** Removes the top; returns its value (undefined when empty). */
  pop(): number | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const top = this.values[0];
    const lastK = this.keys.pop()!;
    const lastV = this.values.pop()!;
    if (n > 1) {
      this.keys[0] = lastK;
      this.values[0] = lastV;
      this.down(0);
    }
    return top;
  }

  /** All (key, value) pairs sorted ascending by key then value; the heap is left unchanged. */
  sortedAscending(): Array<[number, number]> {
    const out: Array<[number, number]> = this.keys.map((k, i) => [k, this.values[i]!]);
    return out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  }

  private before(i: number, j: number): boolean {
    const a = this.keys[i]! * this.sign;
    const b = this.keys[j]! * this.sign;
    return a < b || (a === b && this.values[i]! * this.sign < this.values[j]! * this.sign);
  }

  private swap(i: number, j: number): void {
    const k = this.keys[i]!;
    this.keys[i] = this.keys[j]!;
    this.keys[j] = k;
    const v = this.values[i]!;
    this.values[i] = this.values[j]!;
    this.values[j] = v;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(i, p)) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.keys.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.before(l, m)) m = l;
      if (r < n && this.before(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
