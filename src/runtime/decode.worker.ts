/** A decode worker: runs `decodeBody` on the jobs `DecodePool` posts, and answers with shared-memory results. */
import { parentPort } from 'node:worker_threads';
import { decodeBody, type DecodeJob } from './body-decoder.js';

parentPort!.on('message', (m: { id: number; job: DecodeJob }) => {
  try {
    parentPort!.postMessage({ id: m.id, result: decodeBody(m.job) });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    parentPort!.postMessage({ id: m.id, error: { code: err.code, message: err.message ?? String(e) } });
  }
});

// Loaded: the pool sends work here from now on (until then it decodes inline).
parentPort!.postMessage({ ready: true });
