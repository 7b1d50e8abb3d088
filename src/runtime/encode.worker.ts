/** An encode worker: lossless-codes the chunks `EncodePool` posts (XOR against a base chunk when one is sent). */
import { encodeLossless } from '../codecs/lossless.js';
import { collectEvery } from './worker-gc.js';
import { serveJobs } from './worker-pool.js';
import type { EncodeJob, EncodeResult } from './encode-pool.js';

const handled = collectEvery(64 << 20);

serveJobs<EncodeJob, EncodeResult>((job) => {
  const body = encodeLossless(job.bytes, job.width, job.base, { effort: job.effort });
  const out = new Uint8Array(body); // its own buffer, moved back whole
  handled(job.bytes.length);
  return { result: { body: out }, transfer: [out.buffer] };
});
