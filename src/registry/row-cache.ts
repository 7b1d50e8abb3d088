/**
 * A bounded LRU of registry rows that never change once written: commits (by id), a commit's files (its tree is
 * immutable), and store model rows (content-addressed). A download then reads only what can move (the repository
 * row, for privacy and existence, and the ref naming the revision) from the registry's database: on PostgreSQL
 * that is 2-3 round trips per request instead of 6-7. Refs, repositories and tokens are never cached. Each entry
 * is the row as read (its checksum checked by the read); callers must not change what they get.
 */
export class Lru<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  /** The cached value, or `load()`'s (cached unless undefined). */
  async through(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const have = this.get(key);
    if (have !== undefined) return have;
    const v = await load();
    if (v !== undefined) this.set(key, v);
    return v;
  }
}
