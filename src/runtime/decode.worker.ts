/** A decode worker: runs `decodeBody` on the jobs `DecodePool` posts, and answers with shared-memory results. */
import { decodeBody, type DecodeJob, type DecodeResult } from './body-decoder.js';
import { collectEvery } from './worker-gc.js';
import { serveJobs } from './worker-pool.js';

const handled = collectEvery(64 << 20);

serveJobs<DecodeJob, DecodeResult>((job) => {
  const result = decodeBody(job);
  handled(result.bytes.length);
  return { result };
});
