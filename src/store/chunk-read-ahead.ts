/**
 * A model's chunked tensors read in the order a writer asks for them, with ONE bounded read-ahead running across
 * tensor boundaries. Read tensor by tensor, the decode workers idled at each boundary: an LLM's tensors are
 * mostly 1-3 chunks (8 MiB attention matrices, 23 MiB MLP ones), so a per-tensor read-ahead drained every few
 * chunks (measured on a 1.08 GB get: the reading thread idle 60% of the time, the two decode workers 58% and
 * 78%).
 *
 * `pieces(t)` yields tensor t's chunks, decoded; while they are handed out, the next chunks (of t, then of the
 * chunked tensors after it) decode on the workers, at most `ahead` at a time. Asking for a tensor other than the
 * next one in line (a writer going back, or skipping) restarts the read-ahead there: decodes already started are
 * dropped, never handed to the wrong tensor.
 */
import { constants } from 'node:buffer';
import { corruption, notSupported } from '../errors.js';
import type { ChunkList } from './chunk-list.js';

export interface DecodedChunk {
  readonly bytes: Uint8Array;
  /** The chunk's SHA-256 identity as its record names it (hashed into the list's tree). */
  readonly identity: Uint8Array;
}

/** What the read-ahead reads: a chunk list with its hash-tree identity, and one chunk decoded. */
export interface ChunkSource {
  listOf(key: bigint): Promise<{ list: ChunkList; identity: Uint8Array }>;
  /** Chunk `key` decoded, into `into` (moved away: the caller gives it up) when given and long enough. */
  decodeChunk(key: bigint, verify: boolean, into?: ArrayBuffer): Promise<DecodedChunk>;
  /** A list's hash-tree identity computed from its chunks' identities. */
  treeIdentity(chunkBytes: number, chunkIds: readonly Uint8Array[]): Uint8Array;
  sameDigest(a: Uint8Array, b: Uint8Array): boolean;
}

/** The most bytes one array can hold in this Node (4 GiB in Node 20): a larger tensor is only ever streamed. */
export const MAX_WHOLE_BYTES = constants.MAX_LENGTH;

/** NOT_SUPPORTED: `what` (a tensor or record) of `bytes` cannot be handed out whole. */
export function tooLargeWhole(what: string, bytes: number): Error {
  return notSupported(`${what} holds ${bytes} bytes, more than one array can hold here (${MAX_WHOLE_BYTES}): it can be streamed (get, the hub) but not loaded or converted whole`);
}

interface Started {
  readonly tensor: number;
  readonly index: number;
  readonly decoded: Promise<DecodedChunk>;
}

interface Planned {
  readonly tensor: number;
  readonly index: number;
  readonly key: bigint;
}

export class ChunkReadAhead {
  /** Decodes started, in the order they will be handed out. */
  private started: Started[] = [];
  /** The chunks still to start, from the tensor the read-ahead (re)started at. */
  private plan: AsyncIterator<Planned> | null = null;
  /** Where the next chunk handed out is expected: tensor and chunk index. */
  private expected = { tensor: -1, index: 0 };
  private readonly lists = new Map<number, Promise<{ list: ChunkList; identity: Uint8Array }>>();
  /**
   * Chunk buffers a reader (`reuse`) was done with, decoded into again: no fresh 8 MiB per chunk, whose pages
   * faulted in on the workers and whose collection cost the reading thread ~1 s per GB.
   */
  private readonly free: ArrayBuffer[] = [];
  /** The size of a whole chunk (buffers smaller than it are not kept). */
  private chunkBytes = 0;

  /**
   * `keys[t]` is tensor t's chunk-list record key, or null for a tensor stored whole (skipped by the
   * read-ahead). `ahead` >= 1 chunks decode ahead of the one handed out.
   */
  constructor(
    private readonly source: ChunkSource,
    private readonly keys: readonly (bigint | null)[],
    private readonly ahead: number,
    private readonly verify = false,
  ) {}

  /**
   * Tensor t's bytes in order, chunk by chunk; CORRUPTION when a chunk decodes to another length than its list
   * says, or (after the last chunk) the chunks are not those the list's hash tree names. With `reuse` the caller
   * is done with a piece once it asks for the next: its memory is decoded into again.
   */
  async *pieces(t: number, reuse = false): AsyncGenerator<Uint8Array> {
    const key = this.keyOf(t);
    if (this.expected.tensor !== t || this.expected.index !== 0) this.restart(t);
    const where = `record ${key.toString(16)}`;
    const { list, identity } = await this.listAt(t);
    this.chunkBytes = list.chunkBytes;
    const chunkIds: Uint8Array[] = [];
    for (let i = 0; i < list.chunks.length; i++) {
      await this.topUp();
      let next = this.started.shift();
      if (!next || next.tensor !== t || next.index !== i) {
        // Planning stopped at a later list that does not read (its own reader reports that): plan again from here.
        this.restart(t, i);
        await this.topUp();
        next = this.started.shift();
        if (!next || next.tensor !== t || next.index !== i) throw new Error(`read-ahead out of step at tensor ${t} chunk ${i}`);
      }
      this.expected = i + 1 < list.chunks.length ? { tensor: t, index: i + 1 } : { tensor: this.nextChunked(t), index: 0 };
      const { bytes, identity: chunkId } = await next.decoded;
      void this.topUp().catch(() => {}); // the next decode starts while this chunk is handed out
      if (bytes.length !== list.chunks[i]!.length) throw corruption(where, 0, `chunk ${i} decoded to ${bytes.length} bytes, the list says ${list.chunks[i]!.length}`);
      chunkIds.push(chunkId);
      yield bytes;
      if (reuse && bytes.byteOffset === 0 && bytes.buffer.byteLength >= this.chunkBytes && this.free.length < this.ahead) {
        this.free.push(bytes.buffer as ArrayBuffer);
      }
    }
    if (!this.source.sameDigest(this.source.treeIdentity(list.chunkBytes, chunkIds), identity)) {
      throw corruption(where, 4, 'chunks do not match the hash tree of their list');
    }
  }

  /** Tensor t whole, in memory of its own: each piece is copied in as it arrives (so its memory is reused). */
  async whole(t: number): Promise<Uint8Array> {
    const key = this.keyOf(t);
    const where = `record ${key.toString(16)}`;
    const total = (await this.listAt(t)).list.totalBytes;
    if (total > MAX_WHOLE_BYTES) throw tooLargeWhole(where, total);
    const pieces = this.pieces(t, true);
    const out = Buffer.alloc(total); // a Buffer, as the other tensors' bytes are
    let at = 0;
    for await (const p of pieces) {
      if (at + p.length > out.length) throw corruption(where, 0, `chunks hold more than the list's ${out.length} bytes`);
      out.set(p, at);
      at += p.length;
    }
    if (at !== out.length) throw corruption(where, 0, `chunks hold ${at} bytes, the list says ${out.length}`);
    return out;
  }

  /** Drops what was started and plans from chunk i of tensor t. */
  private restart(t: number, i = 0): void {
    this.started = [];
    this.expected = { tensor: t, index: i };
    this.plan = this.planFrom(t, i);
    this.filling = null;
  }

  /** The top-up running, if any. */
  private filling: Promise<void> | null = null;

  /** Starts decodes until `ahead` are in flight or the plan runs out (one top-up at a time; never rejects). */
  private topUp(): Promise<void> {
    if (this.filling) return this.filling;
    const plan = this.plan;
    const filling = (async () => {
      while (plan && plan === this.plan && this.started.length < this.ahead) {
        const next = await plan.next().catch(() => null);
        if (plan !== this.plan) break; // restarted meanwhile
        if (!next || next.done) {
          this.plan = null; // ran out, or a later list does not read (its own reader reports that)
          break;
        }
        const { tensor, index, key } = next.value;
        const decoded = this.source.decodeChunk(key, this.verify, this.free.pop());
        decoded.catch(() => {}); // reported when its turn comes
        this.started.push({ tensor, index, decoded });
      }
    })().finally(() => {
      if (this.filling === filling) this.filling = null;
    });
    this.filling = filling;
    return filling;
  }

  private async *planFrom(t: number, from: number): AsyncGenerator<Planned> {
    for (let tensor = t; tensor < this.keys.length; tensor = this.nextChunked(tensor), from = 0) {
      const { list } = await this.listAt(tensor);
      for (let index = from; index < list.chunks.length; index++) yield { tensor, index, key: list.chunks[index]!.key };
    }
  }

  private listAt(t: number): Promise<{ list: ChunkList; identity: Uint8Array }> {
    let l = this.lists.get(t);
    if (!l) {
      l = this.source.listOf(this.keys[t]!);
      l.catch(() => {}); // reported to the reader of that tensor
      this.lists.set(t, l);
      // Lists are small, but a model has thousands: those well behind the one asked for go.
      for (const k of this.lists.keys()) if (k < t - 2) this.lists.delete(k);
    }
    return l;
  }

  /** Tensor t's chunk-list key; RangeError when it is not chunked. */
  private keyOf(t: number): bigint {
    const key = this.keys[t];
    if (key === undefined || key === null) throw new RangeError(`tensor ${t} is not chunked`);
    return key;
  }

  /** The next chunked tensor after t (keys.length when none). */
  private nextChunked(t: number): number {
    let n = t + 1;
    while (n < this.keys.length && this.keys[n] === null) n++;
    return n;
  }
}
