/**
 * The shared memory of one FINEdex index: a shared WebAssembly.Memory (so the wasm lookup path reads it
 * directly; its buffer is a SharedArrayBuffer) seen as u32 words, with a fixed header and a block
 * allocator. Pointers are word offsets, so every worker that holds the memory sees the same structure.
 * Views are fixed-length and rebuilt when another thread has grown the memory (`refresh`). A wasm32 memory
 * holds at most 4 GiB (65536 pages of 64 KiB).
 *
 * Blocks come in size classes that are multiples of 4 words: 4, 8, ..., 32, then eight classes per doubling
 * (at most 1/8 of a big block is slack). Every block starts on a multiple of 4 words, so f64 fields stay
 * 8-byte aligned and a pointer's two low bits are free for tags. The owner passes the size back when
 * freeing, so blocks carry no header.
 * Freed blocks go to per-class free lists; an empty list splits a free block of a larger class. Allocation
 * takes a spin lock in the header.
 */
import { invalidArgument, notSupported } from '../errors.js';

export const MAGIC = 0x46494e45; // 'FINE'
/**
 * Header word indexes. Words every operation reads (root, epoch, settings) share the first cache line;
 * words that writers change often (size, retrain request, locks) and each thread's epoch announcement sit
 * on cache lines of their own, so threads do not invalidate each other's lines on every operation.
 */
export const H = {
  MAGIC: 0,
  ROOT: 1,
  EPOCH: 2,
  EPSILON: 3,
  MAX_MODEL_KEYS: 4,
  CAP_WORDS: 5,
  BACKGROUND: 6,
  MAX_WORDS: 7,
  SIZE: 16,
  RETRAIN_REQ: 32,
  RETRAINS: 33,
  BIN_RETRAINS: 34,
  ALLOC_LOCK: 48,
  BUMP: 49,
  RETRAIN_LOCK: 64,
  SLOT_OWNERS: 128, // MAX_THREADS claim flags
  EPOCH_SLOTS: 256, // MAX_THREADS announced epochs (0 = idle), EPOCH_STRIDE words apart; +1: key-count delta
  FREE_HEADS: 256 + 64 * 32, // CLASSES size classes
  END: 256 + 64 * 32 + 256,
} as const;
/**
 * Words between two threads' epoch announcements: 128 bytes, two cache lines, since Intel's adjacent-line
 * prefetcher fetches lines in 128-byte pairs (a neighbour's writes would otherwise keep stealing the pair).
 */
export const EPOCH_STRIDE = 32;
export const MAX_THREADS = 64;

/** The slice of a shared `WebAssembly.Memory` used here (tsconfig's lib has no DOM types). */
export interface SharedMemory {
  readonly buffer: SharedArrayBuffer;
  grow(pages: number): number;
}
interface MemoryCtor {
  new (d: { initial: number; maximum: number; shared: boolean }): SharedMemory;
}
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: MemoryCtor } }).WebAssembly.Memory;

const PAGE_BYTES = 65536;
/** Largest arena: a wasm32 memory of 65536 pages. */
export const MAX_ARENA_BYTES = 2 ** 32;

/** What a worker needs to attach: the memory itself (structured clone shares it, never copies). */
export interface ArenaHandle {
  readonly memory: SharedMemory;
}

export class Arena {
  readonly memory: SharedMemory;
  /** The memory's buffer as of the last refresh (a grown memory hands out a new, longer buffer). */
  sab!: SharedArrayBuffer;
  u32!: Uint32Array;
  i32!: Int32Array;
  f64!: Float64Array;
  private words = 0;
  /** This thread's 4-word blocks (pair blocks): freed ones, then the rest of a chunk. No lock, no fence. */
  private readonly pairs: number[] = [];
  private readonly spill: number[] = [];
  private chunkNext = 0;
  private chunkEnd = 0;

  private constructor(memory: SharedMemory) {
    this.memory = memory;
    this.refresh();
  }

  /**
   * A new arena of `initialBytes` (rounded up to 64 KiB pages), growable to `maxBytes` (at most 4 GiB).
   * Throws INVALID_ARGUMENT on bad sizes.
   */
  static create(initialBytes: number, maxBytes: number): Arena {
    if (!(initialBytes >= 4096) || !(maxBytes >= initialBytes) || maxBytes > MAX_ARENA_BYTES) {
      throw invalidArgument(`arena sizes must satisfy 4096 <= initial <= max <= 2^32, got ${initialBytes}, ${maxBytes}`);
    }
    // Whole pages, so capacities stay multiples of 4 words (16 bytes) and every block does.
    const initial = Math.ceil(Math.max(initialBytes, 2 * H.END * 4) / PAGE_BYTES); // room for the header
    const maximum = Math.max(initial, Math.floor(maxBytes / PAGE_BYTES));
    const a = new Arena(new WasmMemory({ initial, maximum, shared: true }));
    a.i32[H.MAGIC] = MAGIC;
    a.i32[H.BUMP] = H.END;
    a.i32[H.CAP_WORDS] = (initial * PAGE_BYTES) / 4;
    a.i32[H.MAX_WORDS] = (maximum * PAGE_BYTES) / 4;
    a.i32[H.EPOCH] = 1;
    return a;
  }

  /** Attaches to an arena created elsewhere. Throws INVALID_ARGUMENT when the handle is not one. */
  static attach(handle: ArenaHandle): Arena {
    const m = handle?.memory;
    if (!(m?.buffer instanceof SharedArrayBuffer) || m.buffer.byteLength < H.END * 4) {
      throw invalidArgument('handle.memory must be the shared WebAssembly.Memory of a FINEdex index');
    }
    const a = new Arena(m);
    if (a.i32[H.MAGIC] !== MAGIC) throw invalidArgument('handle.memory is not a FINEdex arena (bad magic)');
    return a;
  }

  /** Rebuilds the views when another thread grew the memory; cheap when nothing changed. */
  refresh(): void {
    const sab = this.memory.buffer;
    const bytes = sab.byteLength;
    if (bytes / 4 === this.words) return;
    this.sab = sab;
    this.words = bytes / 4;
    this.u32 = new Uint32Array(this.sab, 0, this.words);
    this.i32 = new Int32Array(this.sab, 0, this.words);
    this.f64 = new Float64Array(this.sab, 0, this.words >>> 1);
  }

  /**
   * Refreshes when the buffer grew since this thread last looked (the header's capacity word, cheaper than
   * asking the buffer). After taking a lock, this covers every block the previous holder published.
   */
  sync(): void {
    if (this.u32[H.CAP_WORDS] !== this.words) this.refresh();
  }

  /**
   * Refreshes when a block pointer read from shared memory lies beyond the current views (the buffer grew
   * in another thread). Call it on every pointer before reading the block.
   */
  ensure(ptr: number): void {
    if (ptr >= this.words) this.refresh();
  }

  /** Bytes in use by blocks (allocated words from the bump pointer, free lists included). */
  usedBytes(): number {
    return Atomics.load(this.i32, H.BUMP) * 4;
  }

  /**
   * A block of at least `words` words; returns its pointer (a multiple of 4 words). The block is zeroed
   * unless `zero` is false: then the caller writes every word of the first `words` itself.
   */
  alloc(words: number, zero = true): number {
    const cls = classOf(words);
    this.lock(H.ALLOC_LOCK);
    let base: number;
    try {
      base = this.popFree(cls);
      if (base === 0) base = this.splitLarger(cls);
      if (base === 0) base = this.bump(classWords(cls));
    } finally {
      this.unlock(H.ALLOC_LOCK);
    }
    this.ensure(base);
    if (zero) this.u32.fill(0, base, base + classWords(cls));
    return base;
  }

  /** Pops a block of class `cls` from its free list, or 0. Caller holds the allocator lock. */
  private popFree(cls: number): number {
    const b = this.i32[H.FREE_HEADS + cls];
    if (b === 0) return 0;
    this.ensure(b); // freed by another thread, maybe after it grew the memory
    this.i32[H.FREE_HEADS + cls] = this.i32[b];
    return b;
  }

  /**
   * Takes a free block of the smallest larger class and splits it: the first `classWords(cls)` words are
   * returned, the rest is filed as a free block of the largest class that fits in it (at most 1/8 of the
   * rest is lost). So blocks freed by retraining (old models, of other sizes than the new ones) are reused
   * instead of growing the arena. Returns 0 when no larger class has a free block. Caller holds the lock.
   */
  private splitLarger(cls: number): number {
    for (let c = cls + 1; c < CLASSES; c++) {
      if (this.i32[H.FREE_HEADS + c] === 0) continue;
      const b = this.popFree(c);
      const rest = classWords(c) - classWords(cls);
      if (rest >= 4) {
        const rc = classOf(Arena.floorClassWords(rest));
        const r = b + classWords(cls);
        this.i32[r] = this.i32[H.FREE_HEADS + rc];
        this.i32[H.FREE_HEADS + rc] = r;
      }
      return b;
    }
    return 0;
  }

  /**
   * A 4-word block, not zeroed (the caller writes all of it), from this thread's cache: the hot allocation
   * (the first key of every empty gap) takes no lock. The cache refills a chunk at a time.
   */
  allocPair(): number {
    if (this.pairs.length === 0 && this.chunkNext === this.chunkEnd && !this.takeShared()) {
      this.chunkNext = this.alloc(PAIR_CHUNK_WORDS);
      this.chunkEnd = this.chunkNext + PAIR_CHUNK_WORDS;
    }
    if (this.pairs.length > 0) {
      const q = this.pairs.pop()!;
      this.ensure(q); // freed by another thread, maybe after it grew the buffer
      return q;
    }
    const p = this.chunkNext;
    this.chunkNext += 4;
    return p;
  }

  /** Gives this thread's cached 4-word blocks back to the shared free list (when the handle closes). */
  releaseCache(): void {
    for (; this.chunkNext < this.chunkEnd; this.chunkNext += 4) this.spill.push(this.chunkNext);
    for (const p of this.pairs) this.spill.push(p);
    this.pairs.length = 0;
    this.flushSpill();
  }

  /** Moves up to 64 freed 4-word blocks from the shared free list to this thread's cache; false if none. */
  private takeShared(): boolean {
    if (this.i32[H.FREE_HEADS] === 0) return false;
    this.lock(H.ALLOC_LOCK);
    for (let k = 0; k < 64; k++) {
      const p = this.popFree(0);
      if (p === 0) break;
      this.pairs.push(p);
    }
    this.unlock(H.ALLOC_LOCK);
    return this.pairs.length > 0;
  }

  /** Returns a block of `words` (as passed to alloc) to its free list. Only once no reader can hold it. */
  free(ptr: number, words: number): void {
    if (words !== 4) this.freeShared(ptr, words);
    else if (this.pairs.length < PAIR_CACHE_MAX) this.pairs.push(ptr);
    else {
      // A thread that frees more pairs than it allocates (a retrain worker) passes the surplus on, in batches.
      this.spill.push(ptr);
      if (this.spill.length >= 256) this.flushSpill();
    }
  }

  /** Links the spilled 4-word blocks into one list and prepends it to the shared free list. */
  private flushSpill(): void {
    const sp = this.spill;
    if (sp.length === 0) return;
    for (let k = 0; k + 1 < sp.length; k++) this.i32[sp[k]] = sp[k + 1];
    const last = sp[sp.length - 1];
    this.lock(H.ALLOC_LOCK);
    this.i32[last] = this.i32[H.FREE_HEADS];
    this.i32[H.FREE_HEADS] = sp[0];
    this.unlock(H.ALLOC_LOCK);
    sp.length = 0;
  }

  private freeShared(ptr: number, words: number): void {
    const cls = classOf(words);
    this.lock(H.ALLOC_LOCK);
    this.ensure(ptr);
    this.i32[ptr] = this.i32[H.FREE_HEADS + cls];
    this.i32[H.FREE_HEADS + cls] = ptr;
    this.unlock(H.ALLOC_LOCK);
  }

  /** The largest size class of at most `words` words (a block of that size has no slack). */
  static floorClassWords(words: number): number {
    const c = classOf(words);
    return CLASS_WORDS[c] === words || c === 0 ? CLASS_WORDS[c] : CLASS_WORDS[c - 1];
  }

  /** Bytes the block allocator hands out for a request of `words` words. */
  static blockBytes(words: number): number {
    return classWords(classOf(words)) * 4;
  }

  private bump(size: number): number {
    let base = this.i32[H.BUMP];
    const cap = this.i32[H.CAP_WORDS];
    if (base + size > cap) {
      // A block never straddles a capacity boundary (the old tail is dropped), so a pointer below a
      // thread's view length means the whole block is inside that view: `ensure(ptr)` is enough.
      this.growTo(cap + size);
      base = cap;
    }
    this.i32[H.BUMP] = base + size;
    return base;
  }

  private growTo(needWords: number): void {
    const max = this.i32[H.MAX_WORDS];
    if (needWords > max) throw notSupported(`FINEdex arena full: needs ${needWords * 4} bytes, maxBytes is ${max * 4}`);
    const cap = this.i32[H.CAP_WORDS];
    const words = Math.min(max, Math.max(needWords, cap * 2)); // whole pages: multiples of 4 words
    this.memory.grow(Math.ceil((words - cap) / (PAGE_BYTES / 4)));
    this.refresh();
    Atomics.store(this.i32, H.CAP_WORDS, this.words);
  }

  /** Spin lock on a header word (short critical sections only). */
  lock(word: number): void {
    while (Atomics.compareExchange(this.i32, word, 0, 1) !== 0) {
      Atomics.wait(this.i32, word, 1, 0.05);
    }
  }

  tryLock(word: number): boolean {
    return Atomics.compareExchange(this.i32, word, 0, 1) === 0;
  }

  unlock(word: number): void {
    Atomics.store(this.i32, word, 0); // no notify: lock() waits at most 50 us at a time
  }
}

/** Words a thread takes at once for its 4-word block cache. */
const PAIR_CHUNK_WORDS = 1024;
/** Most freed 4-word blocks a thread keeps for itself. */
const PAIR_CACHE_MAX = 4096;

/** Number of size classes: 8 small ones (4..32 words), then 8 per doubling up to 2^32 words. */
export const CLASSES = 8 + 8 * 27;

/** Words of size class c (a table: this sits on every allocation). */
const CLASS_WORDS = Float64Array.from({ length: CLASSES }, (_, c) => {
  if (c < 8) return 4 * (c + 1);
  const k = 5 + ((c - 8) >>> 3);
  return 2 ** k + (((c - 8) & 7) + 1) * 2 ** (k - 3);
});

function classWords(c: number): number {
  return CLASS_WORDS[c];
}

function classOf(words: number): number {
  if (words <= 32) return words <= 4 ? 0 : ((words + 3) >>> 2) - 1;
  const k = 31 - Math.clz32(words - 1); // 2^k < words <= 2^(k+1)
  const step = 2 ** (k - 3);
  return 7 + 8 * (k - 5) + Math.ceil((words - 2 ** k) / step);
}
