/**
 * A codec worker (see codec-workers.ts): codes the chunks `EncodePool` posts (lossless, XOR against a base
 * chunk when one is sent, or group-quantized), takes their SHA-256 digests and records' CRC-32s, and runs
 * `decodeBody` on the jobs `DecodePool` posts, answering with shared-memory results, or for `owned` jobs with
 * the result's own buffer, transferred (this thread keeps no reference to it).
 */
import type { TransferListItem } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { decodeBody } from './body-decoder.js';
import { isWhole, transferable, type CodecJob } from './codec-workers.js';
import { prefixedSha256 } from '../codecs/prefixed-digest.js';
import { codeChunkJob } from './encode-pool.js';
import { serveJobs } from './worker-pool.js';

// No forced collections: every large buffer a job uses is shared with the caller, moved back to it or reused
// scratch, so little waits here for V8's collector. Collecting every 128 MiB of work (as this worker did while
// results were fresh memory) cost a 1 GB default-mode fine-tune put 1.2-2.4 CPU s and 0.6-1.2 s, and saved it
// 8-23 MiB of peak RSS.

/** The distinct buffers of `records` to move back: ordinary ones, not detached, none of the result's. */
function recordBuffers(records: readonly Uint8Array[], results: readonly (ArrayBufferLike | undefined)[]): ArrayBuffer[] {
  return [...new Set(records.map((b) => b.buffer))].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer && b.byteLength > 0 && !results.includes(b));
}

serveJobs<CodecJob, unknown>((m) => {
  if ('digest' in m) return { result: prefixedSha256(m.digest.prefix, m.digest.bytes), transfer: [] };
  if ('crc32' in m) return { result: crc32(m.crc32), transfer: [] };
  if ('encode' in m) {
    const job = m.encode;
    const r = codeChunkJob(job);
    // Sent back with its buffer (moved, or shared when `into` is): the body itself when it is all of an ordinary
    // ArrayBuffer (the lossless codec makes it so) or a view at the start of the job's `into`, else a whole copy.
    const out = isWhole(r.body) || r.inInto ? r.body : new Uint8Array(r.body);
    // The chunk's own buffer goes back too, when it came whole, and so does its base's: the caller reads (or
    // decodes) later chunks into them.
    const back = isWhole(job.bytes) && job.bytes.buffer !== out.buffer ? job.bytes : null;
    const base = job.base && isWhole(job.base) && job.base.buffer !== out.buffer && job.base.buffer !== back?.buffer ? job.base : null;
    // So do the records of its base chain (the caller reads later records into them).
    const bodies = recordBuffers(job.baseChain ?? [], [out.buffer, back?.buffer, base?.buffer]);
    const transfer = transferable([out.buffer, back?.buffer, base?.buffer, ...bodies]);
    const handedBack = { ...(back ? { bytes: back } : {}), ...(base ? { base } : {}), ...(bodies.length > 0 ? { bodies } : {}) };
    return { result: { ...r, body: out, ...handedBack }, transfer };
  }
  const job = m.decode;
  const decoded = decodeBody(job);
  const buffer = decoded.bytes.buffer;
  const transfer: TransferListItem[] = job.owned ? transferable([buffer]) : [];
  // The records' buffers go back when asked.
  const bodies = job.handBack ? recordBuffers([job.body, ...(job.baseChain ?? [])], [buffer]) : [];
  return { result: bodies.length > 0 ? { ...decoded, bodies } : decoded, transfer: [...transfer, ...bodies] };
});
