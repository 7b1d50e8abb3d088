/**
 * A decode worker: runs `decodeBody` on the jobs `DecodePool` posts, and answers with shared-memory results, or
 * for `owned` jobs with the result's own buffer, transferred (this thread keeps no reference to it).
 */
import { decodeBody, type DecodeJob, type DecodeResult } from './body-decoder.js';
import { collectEvery } from './worker-gc.js';
import { serveJobs } from './worker-pool.js';

const handled = collectEvery(32 << 20);

serveJobs<DecodeJob, DecodeResult>((job) => {
  const result = decodeBody(job);
  handled(result.bytes.length);
  const buffer = result.bytes.buffer;
  return { result, transfer: job.owned && buffer instanceof ArrayBuffer ? [buffer] : [] };
});
