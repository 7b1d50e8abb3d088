/**
 * Slot seqlocks and epoch-based reclamation over an arena.
 *
 * A slot lock word is a seqlock: bit 0 set = a writer holds it; bit 1 = the tombstone of the trained key the
 * word guards (owned by index-core, kept across lock and unlock); bits 2-31 = the version. Writers take it
 * with a CAS setting bit 0 and release by adding 3 (clears bit 0, bumps the version), so readers that read
 * the word, copy the data and read the word again know whether they saw a stable state (and the tombstone
 * that goes with it); they never block a writer.
 *
 * Lock word grammar: version:30 | tombstone:1 | held:1 (low bit).
 *
 * Epochs: each thread that uses the index claims one of MAX_THREADS announce words. An operation stores the
 * global epoch there on entry and 0 on exit. A retired block is freed only when every active announce is
 * newer than the epoch at which it was unlinked, so no reader can still hold a pointer to it.
 *
 * Size: the word after each announce (same cache line, written only by its owner) holds that slot's change
 * to the key count; the size is H.SIZE plus all of them, so writers never share a counter's cache line.
 */
import { conflict, invalidArgument } from '../errors.js';
import { Arena, EPOCH_STRIDE, H, MAX_THREADS } from './arena.js';

/** Takes the seqlock at word `w`; spins (with short waits) while another writer holds it. Returns the version. */
export function lockSlot(i32: Int32Array, w: number): number {
  for (let spins = 0; ; spins++) {
    const v = Atomics.load(i32, w);
    if ((v & 1) === 0 && Atomics.compareExchange(i32, w, v, v + 1) === v) return v;
    if (spins > 64) Atomics.wait(i32, w, v | 1, 0.05);
  }
}

/** Releases the seqlock at `w`, publishing a new version (the tombstone bit is kept). */
export function unlockSlot(i32: Int32Array, w: number): void {
  Atomics.add(i32, w, 3); // no notify: waiters sleep at most 50 us, and a notify costs more than that saves
}

/** Reads a stable (even) version, spinning while a writer holds the slot. */
export function readBegin(i32: Int32Array, w: number): number {
  for (let spins = 0; ; spins++) {
    const v = Atomics.load(i32, w);
    if ((v & 1) === 0) return v;
    if (spins > 256) Atomics.wait(i32, w, v, 0.05);
  }
}

interface Retired {
  ptr: number;
  words: number;
  epoch: number;
}

/** One thread's membership in the epoch scheme: enter/exit around operations, retire unlinked blocks. */
export class EpochMember {
  readonly slot: number;
  private readonly retired: Retired[] = [];
  private depth = 0;
  /** Reclaim when the retired list reaches this length (doubles with what could not be freed: amortized O(1)). */
  private reclaimAt = 64;
  private released = false;

  constructor(private readonly arena: Arena) {
    this.slot = claimSlot(arena);
  }

  /** Word of this thread's announcement; the two words after the key-count word hold wasm lookup results. */
  get word(): number {
    return H.EPOCH_SLOTS + EPOCH_STRIDE * this.slot;
  }

  /** True when this member is open and outside any operation (a wasm call may then announce for itself). */
  get idle(): boolean {
    return this.depth === 0 && !this.released;
  }

  /** Takes over an announcement the wasm write path made (when idle): the next `exit` clears it. */
  adopt(): void {
    this.depth = 1;
  }

  /** Announces the current epoch; nests (only the outermost enter/exit pair counts). */
  enter(): void {
    if (this.released) throw invalidArgument('this FINEdex handle was closed; attach a new one');
    if (this.depth++ > 0) return;
    const i32 = this.arena.i32;
    // A plain read of the epoch: a stale (older) value only holds back more reclamation. The store must be
    // atomic: it is the fence that orders the announcement before every pointer this operation reads.
    Atomics.store(i32, H.EPOCH_SLOTS + EPOCH_STRIDE * this.slot, i32[H.EPOCH]);
  }

  exit(): void {
    if (--this.depth > 0) return;
    // Atomic: on weakly ordered CPUs a plain store could become visible before this operation's last reads.
    Atomics.store(this.arena.i32, H.EPOCH_SLOTS + EPOCH_STRIDE * this.slot, 0);
  }

  /** Adds `d` to the key count (this slot's own counter: no shared cache line, no atomic). */
  count(d: number): void {
    this.arena.i32[H.EPOCH_SLOTS + EPOCH_STRIDE * this.slot + 1] += d;
  }

  /** Queues block `ptr` of `words` words (already unlinked) to be freed once no reader can hold it. */
  retire(ptr: number, words: number): void {
    const e = Atomics.add(this.arena.i32, H.EPOCH, 1);
    this.retired.push({ ptr, words, epoch: e });
    if (this.retired.length >= this.reclaimAt) this.reclaim();
  }

  /** Frees every retired block older than the oldest active announce. Returns how many were freed. */
  reclaim(): number {
    const i32 = this.arena.i32;
    let min = Infinity;
    for (let t = 0; t < MAX_THREADS; t++) {
      const e = Atomics.load(i32, H.EPOCH_SLOTS + EPOCH_STRIDE * t);
      if (e !== 0 && e < min) min = e;
    }
    let kept = 0;
    let freed = 0;
    for (const r of this.retired) {
      if (r.epoch < min) {
        this.arena.free(r.ptr, r.words);
        freed++;
      } else this.retired[kept++] = r;
    }
    this.retired.length = kept;
    this.reclaimAt = Math.max(64, 2 * kept);
    return freed;
  }

  /** Gives the announce slot back (after freeing what can be freed; the rest is leaked to the arena). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.reclaim();
    this.arena.releaseCache();
    Atomics.store(this.arena.i32, H.EPOCH_SLOTS + EPOCH_STRIDE * this.slot, 0);
    Atomics.store(this.arena.i32, H.SLOT_OWNERS + this.slot, 0);
  }
}

/** Live keys: H.SIZE plus every slot's counter. */
export function sizeOf(i32: Int32Array): number {
  let n = Atomics.load(i32, H.SIZE);
  for (let t = 0; t < MAX_THREADS; t++) n += Atomics.load(i32, H.EPOCH_SLOTS + EPOCH_STRIDE * t + 1);
  return n;
}

/** Sets the key count to `n` (only while no writer can change it: bulk load holds every slot). */
export function setSize(i32: Int32Array, n: number): void {
  Atomics.store(i32, H.SIZE, 0);
  Atomics.store(i32, H.SIZE, n - sizeOf(i32));
}

function claimSlot(arena: Arena): number {
  for (let t = 0; t < MAX_THREADS; t++) {
    if (Atomics.compareExchange(arena.i32, H.SLOT_OWNERS + t, 0, 1) === 0) return t;
  }
  throw conflict(`more than ${MAX_THREADS} threads attached to one FINEdex index; close() unused handles`);
}
