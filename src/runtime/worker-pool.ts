/**
 * A small pool of worker threads running one module's job handler (see `serveJobs`): jobs go to the least busy
 * worker that has loaded its modules, a worker with jobs keeps the process alive and an idle one does not,
 * errors come back as `NeurStoreError`s with their code, and a worker that dies fails what it had in flight
 * (the next job starts a fresh set). The decode pool (loads) and the encode pool (large puts) run on it.
 */
import { parentPort, type TransferListItem, type Worker } from 'node:worker_threads';
import { NeurStoreError, type ErrorCode } from '../errors.js';
import { spawnWorker } from '../env/spawn-worker.js';

interface Pending {
  resolve(r: unknown): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  /** Jobs posted and not answered. */
  busy: number;
  /** The worker has loaded its modules (said so with a `ready` message). */
  ready: boolean;
}

type Message = { ready?: true; id: number; result?: unknown; error?: { code?: string; message: string } };

export class WorkerPool<Job, Result> {
  private slots: Slot[] | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Callers of `ready()` waiting for the current workers. */
  private waiters: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  private nextId = 0;

  /** `module` is the worker's `.js` URL (its `.ts` source runs through tsx in a checkout); `size` >= 1. */
  constructor(private readonly module: URL, readonly size: number, private readonly what: string) {}

  /** Starts the workers (if not yet); true once at least one has loaded and takes jobs at once. */
  anyReady(): boolean {
    return this.start().some((s) => s.ready);
  }

  /** Starts the workers (if not yet) and resolves once all have loaded. */
  ready(): Promise<void> {
    const slots = this.start();
    if (slots.every((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Runs `job` on the least busy loaded worker (any worker while none has loaded: it queues there). */
  run(job: Job, transfer: readonly TransferListItem[] = []): Promise<Result> {
    const slots = this.start();
    const loaded = slots.filter((s) => s.ready);
    const slot = (loaded.length > 0 ? loaded : slots).reduce((a, b) => (b.busy < a.busy ? b : a));
    if (slot.busy++ === 0) slot.worker.ref();
    const done = (): void => {
      if (--slot.busy === 0) slot.worker.unref();
    };
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) => { done(); resolve(r as Result); },
        reject: (e) => { done(); reject(e); },
      });
      slot.worker.postMessage({ id, job }, [...transfer]);
    });
  }

  /** Stops the workers; jobs still running fail. The pool starts again if used afterwards. */
  async close(): Promise<void> {
    const slots = this.slots;
    this.slots = null;
    if (!slots) return;
    // Not awaited: a worker still loading its modules may never answer `terminate` (seen here with tsx's
    // loader), and an unreferenced worker does not keep the process alive anyway.
    for (const s of slots) {
      s.worker.unref();
      void s.worker.terminate().catch(() => undefined);
    }
    const err = new NeurStoreError('IO_ERROR', `${this.what} pool closed while a job was running`);
    this.failPending(err);
    this.settleWaiters(err);
  }

  private start(): Slot[] {
    if (this.slots) return this.slots;
    const slots: Slot[] = [];
    for (let i = 0; i < this.size; i++) {
      const worker = spawnWorker(this.module);
      worker.unref();
      const slot: Slot = { worker, busy: 0, ready: false };
      worker.on('message', (m: Message) => {
        if (m.ready) {
          slot.ready = true;
          if (this.slots === slots && slots.every((s) => s.ready)) this.settleWaiters(null);
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error) p.reject(rebuildError(m.error));
        else p.resolve(m.result);
      });
      const died = (e: unknown): void => {
        if (this.slots !== slots) return;
        this.slots = null;
        for (const s of slots) void s.worker.terminate();
        const err = new NeurStoreError('IO_ERROR', `${this.what} worker failed: ${(e as Error).message ?? e}`, { cause: e });
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

/**
 * In a worker module: answers each job with `handle(job)` (its result and what to transfer back), then says it
 * has loaded, so the pool sends it work from now on.
 */
export function serveJobs<Job, Result>(handle: (job: Job) => { result: Result; transfer?: TransferListItem[] }): void {
  parentPort!.on('message', (m: { id: number; job: Job }) => {
    try {
      const { result, transfer } = handle(m.job);
      parentPort!.postMessage({ id: m.id, result }, transfer ?? []);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      parentPort!.postMessage({ id: m.id, error: { code: err.code, message: err.message ?? String(e) } });
    }
  });
  parentPort!.postMessage({ ready: true });
}

function rebuildError(e: { code?: string; message: string }): Error {
  const codes: readonly string[] = ['NOT_FOUND', 'INVALID_ARGUMENT', 'CORRUPTION', 'NOT_SUPPORTED', 'IO_ERROR', 'CONFLICT', 'CANCELLED'];
  return e.code && codes.includes(e.code) ? new NeurStoreError(e.code as ErrorCode, e.message) : new Error(e.message);
}
