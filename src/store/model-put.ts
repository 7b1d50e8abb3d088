/**
 * What a put stores besides the catalog rows: the model's architecture record, and every tensor, large ones as
 * chunk records streamed through one pipeline (chunked-tensors.ts: lossless, or group-quantized within the bound
 * in the default and paper modes), the rest whole through the encoder. Runs inside the put's write.
 */
import { compress } from 'zstd-napi';
import { cancelled, invalidArgument } from '../errors.js';
import type { TensorRow } from '../catalog/catalog.js';
import type { TensorEntry } from '../formats/model-format.js';
import type { ChunkedTensors } from './chunked-tensors.js';
import type { ContentStore, StoredContent } from './content-store.js';
import { Codec, RecordKind, exactIdentity } from './record-payload.js';
import type { Mode, PutOptions } from './store-types.js';
import type { EncodedTensor, TensorEncoder } from './tensor-encoder.js';

/** The architecture record (the model's non-tensor bytes), zstd-coded when that is smaller; found if stored. */
export async function putArchitecture(content: ContentStore, bytes: Uint8Array): Promise<StoredContent> {
  const identity = exactIdentity(RecordKind.Architecture, bytes);
  const found = await content.find(identity);
  if (found) return { key: found.key, storedBytes: 0 };
  const z = compress(bytes, { compressionLevel: 3 });
  const zstd = z.length < bytes.length;
  return content.add({ kind: RecordKind.Architecture, codec: zstd ? Codec.Zstd : Codec.Raw, identity, body: zstd ? z : bytes });
}

/** Stores every tensor and returns their catalog rows, in order. */
export async function putTensors(
  tensors: readonly TensorEntry[], chunked: ChunkedTensors, encoder: TensorEncoder, mode: Mode, tolerance: number, options: PutOptions,
): Promise<TensorRow[]> {
  const total = tensors.reduce((n, t) => n + t.byteLength, 0);
  const rows: TensorRow[] = [];
  let done = 0;
  const cancelledOr = (err: unknown): never => {
    throw options.signal?.aborted ? cancelled(`put of '${options.name}' was cancelled; nothing of it is stored`) : err;
  };
  const row = (index: number, t: TensorEntry, e: EncodedTensor): TensorRow => (
    { index, name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, recordKey: e.key, ...e });
  // Chunked tensors stream through one pipeline: the next tensor's chunks are read while this one's code.
  const pipe = chunked.pipeline();
  const storing: Array<Promise<unknown>> = [];
  try {
    for (const [index, t] of tensors.entries()) {
      if (options.signal?.aborted) throw cancelled(`put of '${options.name}' was cancelled; nothing of it is stored`);
      if (chunked.applies(t.byteLength)) {
        const progress = (n: number): void => options.onProgress?.({ phase: 'put', done: (done += n), total });
        // Paper mode's algorithm needs whole tensors (an 8-bit base per tensor, searched by L2 over the whole
        // vector): above the chunk size it streams as the default mode does, within the same bound.
        const lossy = mode === 'lossless' ? {} : { tolerance };
        const { finished } = await chunked.stream(t, { signal: options.signal, onBytes: progress, effort: options.effort, ...lossy }, pipe);
        storing.push(finished.then((e) => (rows[index] = row(index, t, e))));
        continue;
      }
      const bytes = await t.read();
      if (bytes.length !== t.byteLength) {
        throw invalidArgument(`tensor '${t.name}' has ${bytes.length} bytes, its header says ${t.byteLength}`);
      }
      rows[index] = row(index, t, await encoder.put({ name: t.name, dtype: t.dtype, shape: t.shape, bytes }));
      options.onProgress?.({ phase: 'put', done: (done += t.byteLength), total });
    }
    await Promise.all(storing);
  } catch (e) {
    // Nothing may still be appending when the write ends: neither the lists of tensors read whole, nor the
    // chunks of the one whose reading failed.
    await Promise.allSettled(storing);
    await pipe.settled();
    cancelledOr(e);
  }
  return rows;
}
