/**
 * The shared-base cache: decoded base tensors (and their 8-bit forms) under a memory budget, least recently
 * used out first, so loading the next fine-tune of a family decodes only its own deltas. Values live in
 * SharedArrayBuffer memory where they come from the decode pool, so every worker reads them without a copy.
 * Concurrent loads of one key share a single decode (`getOrLoad` keeps the promise in flight), and a value
 * is never changed once cached: callers must treat what they get as read-only.
 *
 * The budget counts memory, not entries: typed arrays are counted by the buffer they view, once however many
 * entries view it (a loaded F32 tensor is cached as its bytes and as its values: one buffer, counted once),
 * and a buffer's whole length counts, since any view keeps all of it alive.
 */

/** Default memory budget: 256 MiB (a 7B model's embedding in fp16 is ~250 MB; most bases are far smaller). */
export const BASE_CACHE_BYTES = 256 * 1024 * 1024;

/** Anything with a byte size: typed arrays, or objects that say how much memory they hold. */
export type Cached = ArrayBufferView | { readonly byteLength: number };

export interface BaseCacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly budget: number;
  readonly hits: number;
  readonly misses: number;
}

/** What an entry holds in memory: the buffer a typed array views, or the object itself; and its size. */
function holding(v: Cached): { key: object; bytes: number } {
  return ArrayBuffer.isView(v) ? { key: v.buffer, bytes: v.buffer.byteLength } : { key: v, bytes: v.byteLength };
}

export class BaseCache {
  private readonly entries = new Map<string, Cached>();
  private readonly loading = new Map<string, Promise<Cached>>();
  /** Entries holding each buffer (or object): memory counts once per key. */
  private readonly holders = new Map<object, number>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;

  constructor(readonly budget = BASE_CACHE_BYTES) {}

  get<T extends Cached>(id: string): T | undefined {
    const hit = this.entries.get(id);
    if (hit === undefined) return undefined;
    this.entries.delete(id);
    this.entries.set(id, hit);
    return hit as T;
  }

  /** The cached value of `id`, else `load()`'s (run once however many callers ask at the same time). */
  async getOrLoad<T extends Cached>(id: string, load: () => Promise<T>): Promise<T> {
    const hit = this.get<T>(id);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    const inFlight = this.loading.get(id);
    if (inFlight) {
      this.hits++;
      return inFlight as Promise<T>;
    }
    this.misses++;
    const p = load().then(
      (v) => {
        this.loading.delete(id);
        this.set(id, v);
        return v;
      },
      (e: unknown) => {
        this.loading.delete(id);
        throw e;
      },
    );
    this.loading.set(id, p);
    return p;
  }

  /** Caches `value` unless it alone exceeds the budget; evicts the least recently used to make room. */
  set(id: string, value: Cached): void {
    if (holding(value).bytes > this.budget) return;
    const old = this.entries.get(id);
    if (old !== undefined) this.release(old);
    this.entries.delete(id);
    this.entries.set(id, value);
    const h = holding(value);
    const n = this.holders.get(h.key) ?? 0;
    if (n === 0) this.bytes += h.bytes;
    this.holders.set(h.key, n + 1);
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.entries.delete(k);
      this.release(v);
    }
  }

  private release(v: Cached): void {
    const h = holding(v);
    const n = this.holders.get(h.key)!;
    if (n > 1) {
      this.holders.set(h.key, n - 1);
      return;
    }
    this.holders.delete(h.key);
    this.bytes -= h.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.holders.clear();
    this.bytes = 0;
  }

  stats(): BaseCacheStats {
    return { entries: this.entries.size, bytes: this.bytes, budget: this.budget, hits: this.hits, misses: this.misses };
  }
}
