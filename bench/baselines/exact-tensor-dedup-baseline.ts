/**
 * Baseline "exact tensor dedup", the method of Ollama's content-addressed layers and of ZipLLM's tensor-level
 * dedup: every distinct tensor byte string (by SHA-256) is kept once, uncompressed; every model also keeps its
 * non-tensor bytes (file sizes minus tensor bytes) as they are. This is what the store's dedup alone must reach.
 */
import { createHash } from 'node:crypto';
import { timed, type BaselineResult, type LoadedSet } from './loaded-set.js';

/** SHA-256 of `bytes` as hex: the content address used by the dedup baselines. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Details behind the exact-dedup figure, for tests and reports. */
export interface ExactDedupDetail {
  tensors: number;
  uniqueTensors: number;
  uniqueTensorBytes: number;
  nonTensorBytes: number;
}

/** Counts unique tensors across the whole set; a tensor shared by two models (or twice in one) counts once. */
export function exactTensorDedup(set: LoadedSet): ExactDedupDetail {
  const seen = new Set<string>();
  const out: ExactDedupDetail = { tensors: 0, uniqueTensors: 0, uniqueTensorBytes: 0, nonTensorBytes: 0 };
  for (const m of set.models) {
    let tensorBytes = 0;
    for (const t of m.tensors) {
      tensorBytes += t.bytes.length;
      out.tensors++;
      const h = sha256Hex(t.bytes);
      if (seen.has(h)) continue;
      seen.add(h);
      out.uniqueTensors++;
      out.uniqueTensorBytes += t.bytes.length;
    }
    const fileBytes = m.files.reduce((n, f) => n + f.bytes.length, 0);
    out.nonTensorBytes += Math.max(0, fileBytes - tensorBytes);
  }
  return out;
}

/** Unique tensor bytes plus every model's non-tensor bytes. */
export function exactTensorDedupBaseline(set: LoadedSet): BaselineResult {
  const { value, seconds } = timed(() => exactTensorDedup(set));
  return { bytes: value.uniqueTensorBytes + value.nonTensorBytes, seconds };
}
