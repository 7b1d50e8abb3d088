/**
 * Worker script of RetrainWorker: attaches to the index, then retrains due models whenever writers signal
 * (or every 20 ms), until told to stop through the control word.
 */
import { parentPort } from 'node:worker_threads';
import { isNeurStoreError } from '../errors.js';
import { H } from './arena.js';
import { FineIndex } from './fine-index.js';
import type { RetrainWorkerInit } from './retrain-worker.js';

parentPort?.once('message', (init: RetrainWorkerInit) => {
  const index = FineIndex.attach(init.handle);
  const control = new Int32Array(init.control);
  const i32 = index.sharedArena.i32;
  parentPort?.postMessage('ready');
  while (Atomics.load(control, 0) === 0) {
    const seen = Atomics.load(i32, H.RETRAIN_REQ);
    try {
      Atomics.add(control, 1, index.retrainDue());
    } catch (e) {
      // A full arena skips the retraining (the models stay as they were); try again on the next signal.
      if (!isNeurStoreError(e, 'NOT_SUPPORTED')) throw e;
    }
    index.reclaim();
    Atomics.wait(i32, H.RETRAIN_REQ, seen, 20);
  }
  index.close();
  parentPort?.close();
});
