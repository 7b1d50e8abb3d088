/**
 * Coding of large-tensor chunks on every core: `encode` runs `codeChunkJob` (lossless, or group-quantized within
 * a bound in the default mode) on a worker, or inline with `workers: 0`; the same function either way, so results
 * are identical. The chunk's buffer (and its base's, the buffers of its base chain's bodies, and `into`) is
 * moved to the worker, not copied, when it is an ordinary ArrayBuffer: the caller must not use it afterwards
 * (the result hands the large ones back). Shared memory is posted as it is: the worker is done with it once the
 * job settles, and the caller may then use it again. A put keeps its chunk memory shared (chunk-pipeline.ts):
 * every buffer moved back to the main thread counted there as new external memory, and asked V8 for a full
 * collection about every 64 MB (52 of them in a 1 GB fine-tune's put, ~1 CPU s).
 */
import { availableParallelism } from 'node:os';
import type { FloatDType } from '../codecs/float-ulp.js';
import { encodeGroupChunk } from '../codecs/group-chunk.js';
import { encodeLossless, encodeLosslessOnChain, type LosslessEffort } from '../codecs/lossless.js';
import { prefixedSha256 } from '../codecs/prefixed-digest.js';
import { CodecWorkers, isWhole, movable, transferable } from './codec-workers.js';

export interface EncodeJob {
  readonly bytes: Uint8Array;
  /** Element width in bytes (byte planes are split by it). */
  readonly width: number;
  /** The base chunk to XOR against, if any. */
  readonly base: Uint8Array | null;
  /** Lossless coding: instead of `base`, the lossless bodies of the base's chain, root first (see `encodeLosslessOnChain`). */
  readonly baseChain?: readonly Uint8Array[];
  readonly effort?: LosslessEffort;
  /** Default mode: group-quantize the chunk's `dtype` values within `tol` instead of coding it losslessly. */
  readonly group?: { readonly dtype: FloatDType; readonly tol: number; readonly digestPrefix: number };
  /** Memory a lossless body is written into when it fits (see `EncodeResult.inInto`). */
  readonly into?: ArrayBufferLike;
}

export interface EncodeResult {
  readonly body: Uint8Array;
  /** From a worker: the job's `bytes`, handed back (moved) when they were a whole buffer, for reuse. */
  readonly bytes?: Uint8Array;
  /** From a worker: the job's `base`, likewise. */
  readonly base?: Uint8Array;
  /** From a worker: the buffers of the job's `baseChain` records, moved back for reuse. */
  readonly bodies?: readonly ArrayBuffer[];
  /** Group-quantized chunks: the largest error and the SHA-256 of what the chunk decodes to. */
  readonly maxError?: number;
  readonly digest?: Uint8Array;
  /** The body is a view at the start of the job's `into` (handed back with it): reusable once written. */
  readonly inInto?: boolean;
}

/** The work of one job, wherever it runs. */
export function codeChunkJob(job: EncodeJob): EncodeResult {
  if (job.group) return encodeGroupChunk(job.bytes, job.base, job.group.dtype, job.group.tol, job.group.digestPrefix, job.effort === 'max');
  const options = { effort: job.effort, into: job.into };
  const body = job.baseChain ? encodeLosslessOnChain(job.bytes, job.width, job.baseChain, options) : encodeLossless(job.bytes, job.width, job.base, options);
  return { body, ...(job.into && body.buffer === job.into ? { inInto: true } : {}) };
}

/** The buffer `a` is the whole of, when it is an ordinary ArrayBuffer (moved to the worker, not copied). */
function wholeBuffer(a: Uint8Array): ArrayBuffer[] {
  return isWhole(a) ? [a.buffer as ArrayBuffer] : [];
}

export class EncodePool {
  private readonly pool: CodecWorkers | null;

  /**
   * `workers` defaults to the machine's cores (at most 4); 0 encodes on the calling thread. The threads are
   * those of a decode pool of the same size, when one is open (codec-workers.ts).
   */
  constructor(workers = Math.min(4, availableParallelism())) {
    this.pool = workers > 0 ? new CodecWorkers(workers) : null;
  }

  get size(): number {
    return this.pool?.size ?? 0;
  }

  encode(job: EncodeJob): Promise<EncodeResult> {
    if (!this.pool) {
      try {
        return Promise.resolve(codeChunkJob(job));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // The chain's bodies are views of records read for this job alone: their buffers move too.
    return this.pool.encode(job, transferable([
      ...[job.bytes, ...(job.base ? [job.base] : [])].flatMap(wholeBuffer), ...(job.baseChain ?? []).flatMap(movable), job.into,
    ]));
  }

  /**
   * SHA-256 of byte `prefix` then `bytes`, on a worker when `bytes` lie in shared memory (posted as they are;
   * the caller must not change them until this settles), else on this thread (posting ordinary memory would
   * copy it). A 1 GB put spent ~0.7 CPU s hashing its chunks on the reading thread, the busiest of its threads.
   */
  digest(prefix: number, bytes: Uint8Array): Promise<Uint8Array> {
    if (!this.pool || !(bytes.buffer instanceof SharedArrayBuffer)) {
      try {
        return Promise.resolve(prefixedSha256(prefix, bytes));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return this.pool.digest({ prefix, bytes });
  }

  close(): Promise<void> {
    return this.pool?.close() ?? Promise.resolve();
  }
}
