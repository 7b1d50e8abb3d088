/**
 * The load pipeline: a model's tensors in a load mode (see runtime/load-forms.ts), streamed in order with
 * read-ahead, decoded on the decode pool, bases shared through the decoder's cache. For the 8-bit modes the
 * 8-bit form of each shared base is cached as well, so every fine-tune of a family hands out the same codes.
 */
import { cancelled, invalidArgument } from '../errors.js';
import { elementCount } from '../formats/dtype.js';
import type { TensorRow } from '../catalog/catalog.js';
import { dequantize8, tryQuantize8, type Quant8 } from '../codecs/quant8.js';
import { prefetcher } from '../runtime/prefetch.js';
import { shared } from '../runtime/body-decoder.js';
import {
  checkLoadMode, fp16Of, residualDelta, type LoadMode, type LoadedTensor, type LoadedTensorInfo,
} from '../runtime/load-forms.js';
import type { ContentStore } from './content-store.js';
import { MAX_WHOLE_BYTES, tooLargeWhole } from './chunk-read-ahead.js';
import { Codec } from './record-payload.js';
import type { TensorDecoder } from './tensor-decoder.js';
import { isFloatDType, valuesOf } from './tensor-values.js';
import { DEFAULT_TOLERANCE, type ProgressFn } from './store-types.js';

export interface LoadOptions {
  /** Default 'fp32'. */
  readonly mode?: LoadMode;
  /** Error bound of `int8+delta` (default: the model's tolerance, else DEFAULT_TOLERANCE). */
  readonly tolerance?: number;
  readonly onProgress?: ProgressFn;
  /** Stops the load before the next tensor: the iterator throws CANCELLED. */
  readonly signal?: AbortSignal;
}

type CachedQ8 = Quant8 & { readonly byteLength: number };

/** Given a model's tensor rows, tensor i's exact bytes. */
export type ExactBytes = (rows: readonly TensorRow[]) => (i: number) => Promise<Uint8Array>;

export class ModelLoader {
  constructor(
    private readonly content: ContentStore,
    private readonly decoder: TensorDecoder,
    /**
     * A reader of one model's exact tensor bytes (`rows`: its tensors), however they are stored: chunked tensors
     * are not the decoder's, and share one read-ahead across the model when read in order.
     */
    private readonly exactBytes: ExactBytes = (rows) => (i) => decoder.tensorBytes(rows[i]!.recordKey, rows[i]!.dtype),
  ) {}

  async *load(rows: readonly TensorRow[], modelTolerance: number, options: LoadOptions = {}): AsyncGenerator<LoadedTensor> {
    const mode = checkLoadMode(options.mode ?? 'fp32');
    const tol = options.tolerance ?? (modelTolerance > 0 ? modelTolerance : DEFAULT_TOLERANCE);
    if (!(tol > 0) || !Number.isFinite(tol)) throw invalidArgument(`tolerance must be a positive number, got ${tol}`);
    const total = rows.reduce((n, r) => n + r.byteLength, 0);
    let done = 0;
    // A chunked tensor decodes its chunks ahead itself: started ahead whole, it would be held twice (measured:
    // a 1 GB model's load peaked at 621 MiB with it started ahead).
    const bytesOf = this.exactBytes(rows);
    const get = prefetcher(rows.map((r) => r.byteLength), (i) => this.loadOne(rows[i]!, () => bytesOf(i), mode, tol), { onlyWhenAsked: (i) => rows[i]!.codec === 'chunked' });
    for (let i = 0; i < rows.length; i++) {
      if (options.signal?.aborted) throw cancelled(`the load was cancelled after ${i} of ${rows.length} tensors`);
      const t = await get(i);
      done += rows[i]!.byteLength;
      options.onProgress?.({ phase: 'load', done, total });
      yield t;
    }
  }

  private async loadOne(row: TensorRow, exactBytes: () => Promise<Uint8Array>, mode: LoadMode, tol: number): Promise<LoadedTensor> {
    const info: LoadedTensorInfo = { index: row.index, name: row.name, dtype: row.dtype, shape: row.shape };
    if (row.byteLength > MAX_WHOLE_BYTES) throw tooLargeWhole(`tensor '${row.name}'`, row.byteLength);
    const dtype = row.dtype;
    if (mode === 'int8' && isFloatDType(dtype)) {
      const base = await this.int8Base(row);
      if (base) return { ...info, form: 'int8', q8: base.q8, baseKey: base.key };
    }
    const bytes = await exactBytes();
    // A chunked tensor is no whole-tensor base (its fine-tunes are coded chunk by chunk): nothing to cache.
    const cacheable = row.codec !== 'chunked';
    // Any tensor may be the base of a fine-tune loaded next: the cache keeps it (as the views deltas read
    // it through) under its budget, which costs no copy while the caller holds the arrays anyway.
    if (cacheable) this.decoder.cache.set(`${row.recordKey}:bytes`, bytes);
    if (!isFloatDType(dtype) || mode === 'exact') return { ...info, form: 'bytes', bytes };
    const values = dtype === 'F32' && bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4)
      : cacheable ? shared(valuesOf(bytes, dtype)) : valuesOf(bytes, dtype);
    if (cacheable) this.decoder.cache.set(`${row.recordKey}:${dtype}`, values);
    if (mode === 'fp32') return { ...info, form: 'f32', values };
    if (mode === 'fp16') {
      const bits = dtype === 'F16' && bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2) : fp16Of(values);
      return { ...info, form: 'f16', bits };
    }
    const base = await this.int8Base(row);
    // A tensor stored without a base may be the base of others: its 8-bit form is cached under its record,
    // where their loads look for it, so a family shares one object.
    const q8 = base?.q8 ?? (await this.cachedInt8(row.recordKey, async () => values));
    if (!q8) return { ...info, form: 'f32', values };
    if (mode === 'int8') return { ...info, form: 'int8', q8 };
    const delta = residualDelta(values, dequantize8(q8), tol);
    if (!delta) return { ...info, form: 'f32', values };
    return { ...info, form: 'int8', q8, delta, ...(base ? { baseKey: base.key } : {}) };
  }

  /**
   * The 8-bit base of a float tensor as the int8 modes use it: its stored base's form when it has one, else
   * its own (`values`: the tensor's exact values), cached per record. Null when 8 bits cannot hold it.
   */
  async int8Form(row: TensorRow, values: Float32Array): Promise<{ q8: Quant8; baseKey?: bigint } | null> {
    const base = await this.int8Base(row);
    if (base) return { q8: base.q8, baseKey: base.key };
    const q8 = await this.cachedInt8(row.recordKey, async () => values);
    return q8 ? { q8 } : null;
  }

  /**
   * The 8-bit form of the base `row` was stored against (cached per base), or null when it was stored
   * without one (or its base holds values 8 bits cannot: NaN, infinity, another shape).
   */
  private async int8Base(row: TensorRow): Promise<{ key: bigint; q8: Quant8 } | null> {
    if (row.baseKey === undefined) return null;
    const header = await this.content.header(row.recordKey);
    const base = header.base;
    if (!base) return null;
    const q8 = header.codec === Codec.PaperDelta
      ? await this.decoder.cache.getOrLoad<CachedQ8>(`${base.key}:q8`, async () => withSize(await this.decoder.base8(base.key)))
      : await this.cachedInt8(base.key, async () => {
        const raw = await this.decoder.base(base.key, base.view);
        return raw instanceof Float32Array ? raw : valuesOf(raw, row.dtype as 'F32');
      });
    return q8 && q8.codes.length === elementCount(row.shape) ? { key: base.key, q8 } : null;
  }

  /** The 8-bit form of record `key`'s values, cached (null when they hold NaN or infinity). */
  private async cachedInt8(key: bigint, values: () => Promise<Float32Array>): Promise<Quant8 | null> {
    const q8 = await this.decoder.cache.getOrLoad<CachedQ8 | { byteLength: 0 }>(`${key}:q8`, async () => {
      const q = tryQuantize8(await values()); // null when it holds NaN or an infinity
      return q ? withSize(q) : { byteLength: 0 };
    });
    return 'codes' in q8 ? q8 : null;
  }
}

function withSize(q: Quant8): CachedQ8 {
  return { ...q, byteLength: q.codes.byteLength };
}
