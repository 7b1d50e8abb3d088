/** An encode worker: codes the chunks `EncodePool` posts (lossless, XOR against a base chunk when one is sent, or group-quantized). */
import { collectEvery } from './worker-gc.js';
import { serveJobs } from './worker-pool.js';
import { codeChunkJob, type EncodeJob, type EncodeResult } from './encode-pool.js';

const handled = collectEvery(32 << 20);

serveJobs<EncodeJob, EncodeResult>((job) => {
  const r = codeChunkJob(job);
  // Moved back whole: the body itself when it is all of an ordinary ArrayBuffer (the lossless codec makes it
  // so), else a copy that is.
  const b = r.body.buffer;
  const out = b instanceof ArrayBuffer && r.body.byteOffset === 0 && r.body.byteLength === b.byteLength ? r.body : new Uint8Array(r.body);
  // A group-quantized chunk allocates ~10x its bytes in float arrays (values, base, codes, the replayed decode).
  handled(job.group ? 10 * job.bytes.length : job.bytes.length);
  return { result: { ...r, body: out }, transfer: [out.buffer as ArrayBuffer] };
});
