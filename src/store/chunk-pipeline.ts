/** What the chunks of one put share as chunked-tensors.ts reads, plans and codes them (see `ChunkPipeline`). */
import { isWhole } from '../runtime/codec-workers.js';

/** A chunk's record, and the largest error of the values it decodes to (0 for an exact one). */
export interface StoredChunk {
  readonly key: bigint;
  readonly identity: Uint8Array;
  readonly maxError: number;
}

/**
 * What the chunked tensors of one put share, so its chunks flow through the encode pool as one stream across
 * tensor boundaries (an LLM's tensors are mostly 1-3 chunks: one window per tensor drained the workers at each):
 * a bounded window of chunks read and not yet stored, one order of appends, and one map of the chunks in flight
 * (identical chunks anywhere in the model are looked up and coded once).
 */
export class ChunkPipeline {
  private readonly window: Array<Promise<unknown>> = [];
  /**
   * Chunk buffers the encode workers handed back, read into again: no fresh 8 MiB per chunk read (allocating and
   * freeing them cost the reading thread ~1 s of a 1 GB put in V8's collector).
   */
  private readonly spare: ArrayBuffer[] = [];
  /**
   * Memory the encode workers write lossless bodies into, handed back once the body's record is written: fresh
   * memory per body cost ~6% of a 1 GB lossless put's CPU (zeroing and page faults, `perf record`).
   */
  private readonly bodies: ArrayBuffer[] = [];
  private bodyBytes = 0;
  readonly inFlight = new Map<string, Promise<StoredChunk>>();
  appending: Promise<unknown> = Promise.resolve();

  constructor(private readonly maxInFlight: number) {}

  /** Adds a chunk to the window; waits (and throws its error) while the window is over its bound. */
  async admit(stored: Promise<unknown>): Promise<void> {
    this.window.push(stored);
    while (this.window.length > this.maxInFlight) await this.window.shift();
  }

  /** A spare buffer of exactly `bytes` bytes, if one was handed back. */
  take(bytes: number): Uint8Array | undefined {
    const i = this.spare.findIndex((b) => b.byteLength === bytes);
    return i < 0 ? undefined : new Uint8Array(this.spare.splice(i, 1)[0]!);
  }

  /** Keeps `bytes` (the whole of its buffer, which the caller gives up) for a later chunk read. */
  giveBack(bytes: Uint8Array | undefined): void {
    if (bytes && isWhole(bytes) && this.spare.length <= this.maxInFlight) this.spare.push(bytes.buffer as ArrayBuffer);
  }

  /** Memory for a body of up to `bytes` bytes: a buffer handed back, else a new one (as large as any asked for). */
  bodyMemory(bytes: number): ArrayBuffer {
    this.bodyBytes = Math.max(this.bodyBytes, bytes);
    const i = this.bodies.findIndex((b) => b.byteLength >= bytes);
    return i < 0 ? new ArrayBuffer(this.bodyBytes) : this.bodies.splice(i, 1)[0]!;
  }

  /** Keeps the memory of a body written into `bodyMemory` (its record is written: the caller gives it up). */
  giveBackBody(body: Uint8Array): void {
    if (body.buffer instanceof ArrayBuffer && body.buffer.byteLength > 0 && this.bodies.length <= this.maxInFlight) this.bodies.push(body.buffer);
  }

  /** Resolves once every chunk admitted so far is appended or has failed (never rejects). */
  async settled(): Promise<void> {
    await this.appending;
  }
}
