/**
 * A small pool of decode workers, so loads keep both cores busy: the caller's thread reads records (large
 * sequential reads) while the workers entropy-decode and add deltas. Raw bodies and jobs that decode to
 * less than `inlineBytes` run on the caller's thread, where posting them would cost more than decoding.
 * Bases and results live in SharedArrayBuffer memory, so neither is copied between threads. With
 * `workers: 0` everything runs inline (same results: the one `decodeBody` does the work either way).
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { NeurStoreError, type ErrorCode } from '../errors.js';
import { spawnWorker } from '../env/spawn-worker.js';
import { decodeBody, decodedBytes, type DecodeJob, type DecodeResult } from './body-decoder.js';

export interface DecodePoolOptions {
  /** Worker threads (default: the machine's cores, at most 4). 0 decodes on the caller's thread. */
  readonly workers?: number;
  /**
   * Jobs that decode to fewer bytes than this run inline (default 64 KiB: Silero's ONNX sessions from the
   * store came ~25% faster than with 256 KiB in bench:load section 1b).
   */
  readonly inlineBytes?: number;
}

interface Pending {
  resolve(r: DecodeResult): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  /** Jobs posted and not answered. */
  busy: number;
  /** The worker has loaded its modules (said so with a `ready` message). */
  ready: boolean;
}

export class DecodePool {
  readonly size: number;
  private readonly inlineBytes: number;
  private slots: Slot[] | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Callers of `ready()` waiting for the current workers. */
  private waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  private nextId = 0;

  constructor(options: DecodePoolOptions = {}) {
    this.size = Math.max(0, Math.floor(options.workers ?? Math.min(4, availableParallelism())));
    this.inlineBytes = options.inlineBytes ?? 64 * 1024;
  }

  /**
   * Decodes `job` on the least busy worker (started on first use), or inline when small. With `moveBody`,
   * a body in an ordinary ArrayBuffer is transferred to the worker instead of copied: the caller gives up
   * that whole buffer (every view of it is detached once the job is posted).
   */
  decode(job: DecodeJob, moveBody = false): Promise<DecodeResult> {
    if (this.size === 0 || job.codec === 'raw' || decodedBytes(job) < this.inlineBytes) return inline(job);
    // Workers start on first use, in the background: until one has loaded, jobs run inline (a short-lived
    // store would otherwise wait for thread start-up).
    const ready = this.start().filter((s) => s.ready);
    if (ready.length === 0) return inline(job);
    const slot = ready.reduce((a, b) => (b.busy < a.busy ? b : a));
    // A worker with jobs keeps the process alive (its answer is awaited); an idle one does not.
    if (slot.busy++ === 0) slot.worker.ref();
    const done = (): void => {
      if (--slot.busy === 0) slot.worker.unref();
    };
    const id = this.nextId++;
    return new Promise<DecodeResult>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) => { done(); resolve(r); },
        reject: (e) => { done(); reject(e); },
      });
      const buffer = job.body.buffer;
      slot.worker.postMessage({ id, job }, moveBody && buffer instanceof ArrayBuffer ? [buffer] : []);
    });
  }

  /** Starts the workers (if not yet) and resolves once all have loaded: later jobs of any size use them. */
  ready(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    const slots = this.start();
    if (slots.every((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Stops the workers; jobs still running fail. The pool starts again if used afterwards. */
  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = null;
    if (!slots) return;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    const err = new NeurStoreError('IO_ERROR', 'decode pool closed while a job was running');
    this.failPending(err);
    this.settleWaiters(err);
  }

  private start(): Slot[] {
    if (this.slots) return this.slots;
    const slots: Slot[] = [];
    for (let i = 0; i < this.size; i++) {
      const worker = spawnWorker(new URL('./decode.worker.js', import.meta.url));
      worker.unref();
      const slot: Slot = { worker, busy: 0, ready: false };
      worker.on('message', (m: { ready?: true; id: number; result?: DecodeResult; error?: { code?: string; message: string } }) => {
        if (m.ready) {
          slot.ready = true;
          if (this.slots === slots && slots.every((s) => s.ready)) this.settleWaiters(null);
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.result) p.resolve(m.result);
        else p.reject(rebuildError(m.error!));
      });
      const died = (e: unknown): void => {
        if (this.slots !== slots) return;
        // Fail what was in flight; the next job starts fresh workers.
        this.slots = null;
        for (const s of slots) void s.worker.terminate();
        const err = new NeurStoreError('IO_ERROR', `decode worker failed: ${(e as Error).message ?? e}`, { cause: e });
        this.failPending(err);
        this.settleWaiters(err);
      };
      worker.on('error', died);
      worker.on('exit', (code) => died(new Error(`exited with code ${code}`)));
      slots.push(slot);
    }
    this.slots = slots;
    return slots;
  }

  private settleWaiters(e: Error | null): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (e) w.reject(e);
      else w.resolve();
    }
  }

  private failPending(e: Error): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
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

function rebuildError(e: { code?: string; message: string }): Error {
  const codes: readonly string[] = ['NOT_FOUND', 'INVALID_ARGUMENT', 'CORRUPTION', 'NOT_SUPPORTED', 'IO_ERROR', 'CONFLICT'];
  return e.code && codes.includes(e.code) ? new NeurStoreError(e.code as ErrorCode, e.message) : new Error(e.message);
}
