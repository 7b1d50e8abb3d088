/**
 * Background model retraining on a worker thread. While a retrain worker runs, writers only signal that a
 * model is due (a counter in the arena plus Atomics.notify) and the worker retrains it, so no writer pays
 * for a retraining. Under tsx (tests, benchmarks) the worker runs the TypeScript source through tsx's loader;
 * from the built package it runs the compiled JavaScript.
 */
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../env/spawn-worker.js';
import { H } from './arena.js';
import type { FineIndex, FineIndexHandle } from './fine-index.js';

/** The message the worker script expects. */
export interface RetrainWorkerInit {
  handle: FineIndexHandle;
  control: SharedArrayBuffer;
}

/** A running background retrainer; `stop` waits for it to finish its current retraining and exit. */
export class RetrainWorker {
  private constructor(
    private readonly worker: Worker,
    private readonly control: Int32Array,
    private readonly index: FineIndex,
  ) {}

  /** Starts a retrain worker for `index` and waits until it is attached. */
  static async start(index: FineIndex): Promise<RetrainWorker> {
    const control = new SharedArrayBuffer(8);
    const worker = spawnWorker(new URL('./retrain.worker.js', import.meta.url));
    const init: RetrainWorkerInit = { handle: index.handle(), control };
    worker.postMessage(init);
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    Atomics.add(index.sharedArena.i32, H.BACKGROUND, 1);
    return new RetrainWorker(worker, new Int32Array(control), index);
  }

  /** Model retrainings this worker has done. */
  get retrains(): number {
    return Atomics.load(this.control, 1);
  }

  /** Stops the worker; writers go back to retraining inline. */
  async stop(): Promise<void> {
    Atomics.sub(this.index.sharedArena.i32, H.BACKGROUND, 1);
    Atomics.store(this.control, 0, 1);
    Atomics.notify(this.index.sharedArena.i32, H.RETRAIN_REQ);
    await new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
  }
}
