/**
 * A small pool of decode workers, so loads keep both cores busy: the caller's thread reads records (large
 * sequential reads) while the workers entropy-decode and add deltas. Raw bodies and jobs that decode to
 * less than `inlineBytes` run on the caller's thread, where posting them would cost more than decoding.
 * Bases and results live in SharedArrayBuffer memory, so neither is copied between threads. With
 * `workers: 0` everything runs inline (same results: the one `decodeBody` does the work either way).
 */
import { crc32 } from 'node:zlib';
import { availableParallelism } from 'node:os';
import { CodecWorkers, movable, transferable } from './codec-workers.js';
import { decodeBody, decodedBytes, type DecodeJob, type DecodeResult } from './body-decoder.js';

export interface DecodePoolOptions {
  /**
   * Worker threads (default: the machine's cores, at most 4), shared with an encode pool of the same size
   * (codec-workers.ts). 0 decodes on the caller's thread.
   */
  readonly workers?: number;
  /**
   * Jobs that decode to fewer bytes than this run inline (default 64 KiB: Silero's ONNX sessions from the
   * store came ~25% faster than with 256 KiB in bench:load section 1b).
   */
  readonly inlineBytes?: number;
}

/**
 * Jobs decoding to at least this many bytes queue on a worker while the workers load, rather than run inline:
 * a chunk decoded on the caller's thread grew that thread's wasm memory to ~33 MiB for the rest of the process
 * (seen in a heap snapshot of a 1 GB load, as 1 of its ~200 MiB of live buffers).
 */
const WAIT_FOR_WORKERS_BYTES = 1 << 20;

export class DecodePool {
  readonly size: number;
  private readonly inlineBytes: number;
  private readonly workers: CodecWorkers | null;

  constructor(options: DecodePoolOptions = {}) {
    this.size = Math.max(0, Math.floor(options.workers ?? Math.min(4, availableParallelism())));
    this.inlineBytes = options.inlineBytes ?? 64 * 1024;
    this.workers = this.size > 0 ? new CodecWorkers(this.size) : null;
  }

  /**
   * Decodes `job` on the least busy worker (started on first use), or inline when small. With `moveBody`,
   * a body in an ordinary ArrayBuffer (and the bodies of its base chain, and for `owned` jobs the base) is transferred to the worker instead
   * of copied: the caller gives up that whole buffer (every view of it is detached once the job is posted).
   * An owned job's `into` (memory to decode into, for recycling output buffers) is always moved when it is an
   * ArrayBuffer: the caller gives it up and gets it back as `result.bytes.buffer` (see DecodeJob.into). Shared
   * memory is posted as it is: the worker is done with it once the job settles.
   */
  decode(job: DecodeJob, moveBody = false): Promise<DecodeResult> {
    if (!this.workers || job.codec === 'raw' || decodedBytes(job) < this.inlineBytes) return inline(job);
    // Workers start on first use, in the background: until one has loaded, small jobs run inline (a short-lived
    // store would otherwise wait for thread start-up) and large ones queue on a worker.
    if (!this.workers.anyReady() && decodedBytes(job) < WAIT_FOR_WORKERS_BYTES) return inline(job);
    const moved = moveBody ? [job.body, ...(job.baseChain ?? []), ...(job.owned && job.base ? [job.base] : [])].flatMap(movable) : [];
    return this.workers.decode(job, transferable([...moved, job.owned ? job.into : undefined]));
  }

  /**
   * zlib's CRC-32 of `bytes`: on a worker when they lie in shared memory (posted as they are; the caller must
   * not change them until this settles) and are large, else on this thread. A record read checks its payload's
   * CRC: on the reading thread of a 4.27 GB get (its busiest: it also writes the output) that was 0.3-0.6 CPU s.
   */
  crc32(bytes: Uint8Array): Promise<number> {
    if (!this.workers || !(bytes.buffer instanceof SharedArrayBuffer) || bytes.length < WAIT_FOR_WORKERS_BYTES || !this.workers.anyReady()) {
      return Promise.resolve(crc32(bytes));
    }
    return this.workers.crc32(bytes);
  }

  /** Starts the workers (if not yet) and resolves once all have loaded: later jobs of any size use them. */
  ready(): Promise<void> {
    return this.workers?.ready() ?? Promise.resolve();
  }

  /**
   * Stops the workers (unless an encode pool of the same size still uses them); jobs still running fail. The
   * pool starts again if used afterwards.
   */
  close(): Promise<void> {
    return this.workers?.close() ?? Promise.resolve();
  }
}

/** Decodes on this thread; errors become a rejected promise, as from a worker. */
function inline(job: DecodeJob): Promise<DecodeResult> {
  try {
    return Promise.resolve(decodeBody(job));
  } catch (e) {
    return Promise.reject(e);
  }
}
