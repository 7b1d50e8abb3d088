/**
 * The shared memory of one FINEdex index: a growable SharedArrayBuffer seen as u32 words, with a fixed
 * header and a block allocator. Pointers are word offsets, so every worker that holds the buffer sees the
 * same structure. Views are fixed-length (length-tracking views on a growable buffer are ~10x slower in V8)
 * and are rebuilt when another thread has grown the buffer (`refresh`).
 *
 * Blocks come in size classes of 2^k and 1.5 * 2^k words (at least 8, all even, so every block starts on an
 * even word and f64 fields stay 8-byte aligned; at most 1/3 of a block is slack); the owner passes the size
 * back when freeing, so blocks carry no header.
 * Freed blocks go to per-class free lists. Allocation takes a spin lock in the header.
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
  SIZE: 16,
  RETRAIN_REQ: 32,
  RETRAINS: 33,
  BIN_RETRAINS: 34,
  ALLOC_LOCK: 48,
  BUMP: 49,
  RETRAIN_LOCK: 64,
  SLOT_OWNERS: 128, // MAX_THREADS claim flags
  FREE_HEADS: 192, // 64 size classes
  EPOCH_SLOTS: 256, // MAX_THREADS announced epochs (0 = idle), EPOCH_STRIDE words apart
  END: 256 + 64 * 16,
} as const;
/** Words between two threads' epoch announcements (one 64-byte cache line). */
export const EPOCH_STRIDE = 16;
export const MAX_THREADS = 64;

/** What a worker needs to attach: the buffer itself (transferable by structured clone as shared memory). */
export interface ArenaHandle {
  readonly buffer: SharedArrayBuffer;
}

export class Arena {
  readonly sab: SharedArrayBuffer;
  u32!: Uint32Array;
  i32!: Int32Array;
  f64!: Float64Array;
  private words = 0;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.refresh();
  }

  /** A new arena of `initialBytes`, growable to `maxBytes`. Throws INVALID_ARGUMENT on bad sizes. */
  static create(initialBytes: number, maxBytes: number): Arena {
    if (!(initialBytes >= 4096) || !(maxBytes >= initialBytes) || maxBytes > 2 ** 34) {
      throw invalidArgument(`arena sizes must satisfy 4096 <= initial <= max <= 2^34, got ${initialBytes}, ${maxBytes}`);
    }
    const init = Math.ceil(initialBytes / 8) * 8;
    const Ctor = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer;
    const a = new Arena(new Ctor(init, { maxByteLength: Math.ceil(maxBytes / 8) * 8 }));
    a.i32[H.MAGIC] = MAGIC;
    a.i32[H.BUMP] = H.END;
    a.i32[H.CAP_WORDS] = init / 4;
    a.i32[H.EPOCH] = 1;
    return a;
  }

  /** Attaches to an arena created elsewhere. Throws INVALID_ARGUMENT when the buffer is not one. */
  static attach(handle: ArenaHandle): Arena {
    const b = handle?.buffer;
    if (!(b instanceof SharedArrayBuffer) || b.byteLength < H.END * 4) {
      throw invalidArgument('handle.buffer must be the SharedArrayBuffer of a FINEdex index');
    }
    const a = new Arena(b);
    if (a.i32[H.MAGIC] !== MAGIC) throw invalidArgument('handle.buffer is not a FINEdex arena (bad magic)');
    return a;
  }

  /** Rebuilds the views when another thread grew the buffer; cheap when nothing changed. */
  refresh(): void {
    const bytes = this.sab.byteLength;
    if (bytes / 4 === this.words) return;
    this.words = bytes / 4;
    this.u32 = new Uint32Array(this.sab, 0, this.words);
    this.i32 = new Int32Array(this.sab, 0, this.words);
    this.f64 = new Float64Array(this.sab, 0, this.words >>> 1);
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

  /** A zeroed block of at least `words` words; returns its pointer (an even word offset). */
  alloc(words: number): number {
    const cls = classOf(words);
    this.lock(H.ALLOC_LOCK);
    let base: number;
    try {
      base = this.i32[H.FREE_HEADS + cls];
      if (base !== 0) this.i32[H.FREE_HEADS + cls] = this.i32[base];
      else base = this.bump(classWords(cls));
    } finally {
      this.unlock(H.ALLOC_LOCK);
    }
    this.ensure(base);
    this.u32.fill(0, base, base + classWords(cls));
    return base;
  }

  /** Returns a block of `words` (as passed to alloc) to its free list. Only once no reader can hold it. */
  free(ptr: number, words: number): void {
    const cls = classOf(words);
    this.lock(H.ALLOC_LOCK);
    this.i32[ptr] = this.i32[H.FREE_HEADS + cls];
    this.i32[H.FREE_HEADS + cls] = ptr;
    this.unlock(H.ALLOC_LOCK);
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
    const max = (this.sab as unknown as { maxByteLength: number }).maxByteLength / 4;
    if (needWords > max) throw notSupported(`FINEdex arena full: needs ${needWords * 4} bytes, maxBytes is ${max * 4}`);
    const words = Math.min(max, Math.max(needWords, this.i32[H.CAP_WORDS] * 2));
    (this.sab as unknown as { grow(n: number): void }).grow(words * 4);
    this.refresh();
    Atomics.store(this.i32, H.CAP_WORDS, words);
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

/** Words of size class c: 8, 12, 16, 24, 32, 48, ... (table: this sits on every allocation). */
const CLASS_WORDS = Float64Array.from({ length: 64 }, (_, c) => ((c & 1) === 0 ? 2 ** ((c >>> 1) + 3) : 3 * 2 ** ((c >>> 1) + 2)));

function classWords(c: number): number {
  return CLASS_WORDS[c];
}

function classOf(words: number): number {
  let c = words <= 8 ? 0 : 2 * (28 - Math.clz32(words - 1)); // 2^(c/2+3) < words: start just below
  while (CLASS_WORDS[c] < words) c++;
  return c;
}
