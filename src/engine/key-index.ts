/**
 * The engine's in-memory index: 64-bit record key -> 64-bit packed record location. The engine rebuilds it
 * from the segments on open (bulk load of sorted pairs) and owns nothing else through it.
 * FINEdex (`learned-index/`) implements this interface; `MapKeyIndex` is the simple reference version.
 */

export interface KeyIndex {
  readonly size: number;
  get(key: bigint): bigint | undefined;
  /** Inserts or replaces. */
  set(key: bigint, value: bigint): void;
  /** True when the key was present. */
  delete(key: bigint): boolean;
  /** Keys >= `from` in ascending order, at most `limit` of them. */
  scan(from: bigint, limit: number): Array<[bigint, bigint]>;
  /** Replaces the contents with `pairs`, which are sorted by key with no duplicates. */
  bulkLoad(pairs: ReadonlyArray<readonly [bigint, bigint]>): void;
  /** Releases what this handle holds (FINEdex: its epoch slot); optional. */
  close?(): void;
}

/** A `Map` plus sorting on scan: the oracle that tests compare learned indexes against. */
export class MapKeyIndex implements KeyIndex {
  private readonly map = new Map<bigint, bigint>();

  get size(): number {
    return this.map.size;
  }
  get(key: bigint): bigint | undefined {
    return this.map.get(key);
  }
  set(key: bigint, value: bigint): void {
    this.map.set(key, value);
  }
  delete(key: bigint): boolean {
    return this.map.delete(key);
  }
  scan(from: bigint, limit: number): Array<[bigint, bigint]> {
    const keys = [...this.map.keys()].filter((k) => k >= from).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return keys.slice(0, limit).map((k) => [k, this.map.get(k)!]);
  }
  bulkLoad(pairs: ReadonlyArray<readonly [bigint, bigint]>): void {
    this.map.clear();
    for (const [k, v] of pairs) this.map.set(k, v);
  }
}
