/**
 * Background model retraining on a worker thread. While a retrain worker runs, writers only signal that a
 * model is due (a counter in the arena plus Atomics.notify) and the worker retrains it, so no writer pays
 * for a retraining. Under tsx (tests, benchmarks) the worker runs the TypeScript source through tsx's loader;
 * from the built package it runs the compiled JavaScript.
 */
import { Worker } from 'node:worker_threads';
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
    const worker = spawnWorker('retrain.worker');
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

/**
 * A worker running `<name>.ts` through tsx when this module is TypeScript source, else `<name>.js`.
 * `name` is a file in this folder. Node 20 workers do not pick up `--import tsx` hooks from execArgv, so the
 * TypeScript case boots through a tiny eval script that registers tsx's ESM API first.
 */
export function spawnWorker(name: string): Worker {
  const isTs = import.meta.url.endsWith('.ts');
  const url = new URL(`./${name}${isTs ? '.ts' : '.js'}`, import.meta.url);
  if (!isTs) return new Worker(url);
  const api = import.meta.resolve('tsx/esm/api');
  const boot =
    `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })` +
    '.catch((e) => { console.error(e); process.exit(1); });';
  return new Worker(boot, { eval: true });
}
