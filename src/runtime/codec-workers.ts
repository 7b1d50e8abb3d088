/**
 * One set of worker threads for the encode pool and the decode pool together: a put against a base decodes
 * base chunks and encodes chunks at the same time, and with a pool each that was four threads on two cores,
 * each holding its own heap, wasm memory and scratch buffers. `CodecWorkers` is a lease on the process's
 * shared `WorkerPool` of a given size (codec.worker.ts answers both kinds of job): the pool starts with its
 * first user, and closing a lease stops the workers only when no other lease of that size is open (jobs still
 * running then fail, as a pool's close always did).
 */
import type { TransferListItem } from 'node:worker_threads';
import type { DecodeJob, DecodeResult } from './body-decoder.js';
import type { EncodeJob, EncodeResult } from './encode-pool.js';
import { WorkerPool } from './worker-pool.js';

/** SHA-256 of `prefix` (one byte) followed by `bytes`: a record identity, taken off the calling thread. */
export interface DigestJob {
  readonly prefix: number;
  readonly bytes: Uint8Array;
}

/** What codec.worker.ts is posted: one encode, decode or digest job, or a CRC-32 (zlib's) of `bytes`. */
export type CodecJob = { readonly encode: EncodeJob } | { readonly decode: DecodeJob } | { readonly digest: DigestJob } | { readonly crc32: Uint8Array };

/**
 * The buffer of `a` when it can be moved to a worker: an ordinary ArrayBuffer large enough never to be one of
 * Node's pooled Buffer slabs (which hold other buffers' bytes and must not be detached).
 */
export function movable(a: ArrayBufferView): ArrayBuffer[] {
  return a.buffer instanceof ArrayBuffer && a.buffer.byteLength >= 64 * 1024 ? [a.buffer] : [];
}

/** True when `a` is all of an ordinary ArrayBuffer (which can then be moved alone). */
export function isWhole(a: Uint8Array): boolean {
  const b = a.buffer;
  return b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength;
}

/**
 * The ordinary ArrayBuffers among `buffers`, once each: what a transfer list may hold. Shared memory is never
 * moved (a SharedArrayBuffer in a transfer list is an error): it is posted as it is, both threads see it.
 */
export function transferable(buffers: ReadonlyArray<ArrayBufferLike | undefined>): ArrayBuffer[] {
  return [...new Set(buffers)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0);
}

interface Shared {
  readonly pool: WorkerPool<CodecJob, EncodeResult | DecodeResult | Uint8Array | number>;
  users: number;
}

const shared = new Map<number, Shared>();

export class CodecWorkers {
  private held: Shared | null = null;

  /** `size` >= 1 worker threads, shared with every other open lease of the same size. */
  constructor(readonly size: number) {}

  private pool(): WorkerPool<CodecJob, EncodeResult | DecodeResult | Uint8Array | number> {
    if (!this.held) {
      let s = shared.get(this.size);
      if (!s) {
        s = { pool: new WorkerPool(new URL('./codec.worker.js', import.meta.url), this.size, 'codec'), users: 0 };
        shared.set(this.size, s);
      }
      s.users++;
      this.held = s;
    }
    return this.held.pool;
  }

  encode(job: EncodeJob, transfer: readonly TransferListItem[]): Promise<EncodeResult> {
    return this.pool().run({ encode: job }, transfer) as Promise<EncodeResult>;
  }

  decode(job: DecodeJob, transfer: readonly TransferListItem[]): Promise<DecodeResult> {
    return this.pool().run({ decode: job }, transfer) as Promise<DecodeResult>;
  }

  /** See `DigestJob`; `bytes` are posted as they are (shared memory: not copied, not moved). */
  digest(job: DigestJob): Promise<Uint8Array> {
    return this.pool().run({ digest: job }) as unknown as Promise<Uint8Array>;
  }

  /** zlib's CRC-32 of `bytes`, posted as they are (shared memory: not copied, not moved). */
  crc32(bytes: Uint8Array): Promise<number> {
    return this.pool().run({ crc32: bytes }) as Promise<number>;
  }

  /** Starts the workers (if not yet); true once at least one has loaded. */
  anyReady(): boolean {
    return this.pool().anyReady();
  }

  /** Starts the workers (if not yet) and resolves once all have loaded. */
  ready(): Promise<void> {
    return this.pool().ready();
  }

  /** Gives up the lease; the last one open stops the workers. Used again, the lease is taken anew. */
  close(): Promise<void> {
    const s = this.held;
    this.held = null;
    if (!s || --s.users > 0) return Promise.resolve();
    if (shared.get(this.size) === s) shared.delete(this.size);
    return s.pool.close();
  }
}
