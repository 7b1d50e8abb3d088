/** A decode worker: runs `decodeBody` on the jobs `DecodePool` posts, and answers with shared-memory results. */
import { parentPort } from 'node:worker_threads';
import { decodeBody, type DecodeJob } from './body-decoder.js';
import { collectEvery } from './worker-gc.js';

const handled = collectEvery(64 << 20);

parentPort!.on('message', (m: { id: number; job: DecodeJob }) => {
  try {
    const result = decodeBody(m.job);
    parentPort!.postMessage({ id: m.id, result });
    handled(result.bytes.length);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    parentPort!.postMessage({ id: m.id, error: { code: err.code, message: err.message ?? String(e) } });
  }
});

// Loaded: the pool sends work here from now on (until then it decodes inline).
parentPort!.postMessage({ ready: true });
