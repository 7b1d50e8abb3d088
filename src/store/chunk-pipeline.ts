/** What the chunks of one put share as chunked-tensors.ts reads, plans and codes them (see `ChunkPipeline`). */
import { RecycledBuffers } from './recycled-buffers.js';

/** A chunk's record, and the largest error of the values it decodes to (0 for an exact one). */
export interface StoredChunk {
  readonly key: bigint;
  readonly identity: Uint8Array;
  readonly maxError: number;
}

/**
 * What the chunked tensors of one put share, so its chunks flow through the encode pool as one stream across
 * tensor boundaries (an LLM's tensors are mostly 1-3 chunks: one window per tensor drained the workers at each):
 * a bounded window of chunks read and not yet stored, one order of appends, one map of the chunks in flight
 * (identical chunks anywhere in the model are looked up and coded once), and the chunk memory, recycled.
 *
 * The chunk memory is shared, given back once a job is done with it (see RecycledBuffers).
 */
export class ChunkPipeline {
  private readonly window: Array<Promise<unknown>> = [];
  /** Chunks read, and chunks of near copies decoded to code against. */
  private readonly chunks: RecycledBuffers;
  /** Memory the encode workers write lossless bodies into, given back once the body's record is written. */
  private readonly bodies: RecycledBuffers;
  readonly inFlight = new Map<string, Promise<StoredChunk>>();
  /** The chunks' planning (identity looked up, coding started, place taken among the appends), in read order. */
  planning: Promise<unknown> = Promise.resolve();
  appending: Promise<unknown> = Promise.resolve();

  /**
   * `maxInFlight` chunks read and not yet stored; buffers of `step` bytes and more are recycled, as many as are
   * out at once: the chunks in flight, the one being read and a near copy's first chunk or two (kept fewer, the
   * rest were dropped and made again: 45 new buffers in a 4.27 GB fine-tune's put instead of 10, peak RSS 388-424
   * -> 371 MiB).
   */
  constructor(private readonly maxInFlight: number, step: number) {
    this.chunks = new RecycledBuffers(maxInFlight + 3, step);
    this.bodies = new RecycledBuffers(maxInFlight + 3, step);
  }

  /** Adds a chunk to the window; waits (and throws its error) while the window is over its bound. */
  async admit(stored: Promise<unknown>): Promise<void> {
    this.window.push(stored);
    while (this.window.length > this.maxInFlight) await this.window.shift();
  }

  /** Memory for a chunk of exactly `bytes` bytes (recycled, shared). */
  take(bytes: number): Uint8Array {
    return this.chunks.take(bytes);
  }

  /** Keeps the memory of `chunks` (views at the start of their buffers, given up by the caller) for later chunks. */
  giveBack(...chunks: Array<Uint8Array | undefined>): void {
    this.chunks.giveBack(...chunks);
  }

  /** Memory for a body of up to `bytes` bytes (recycled, shared). */
  bodyMemory(bytes: number): ArrayBufferLike {
    return this.bodies.alloc(bytes).buffer;
  }

  /** Keeps the memory of a body written into `bodyMemory` (its record is written: the caller gives it up). */
  giveBackBody(body: Uint8Array): void {
    this.bodies.giveBack(body.buffer);
  }

  /** Resolves once every chunk admitted so far is appended or has failed (never rejects). */
  async settled(): Promise<void> {
    await this.planning; // a chunk takes its place among the appends once planned
    await this.appending;
  }
}
