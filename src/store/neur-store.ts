/**
 * NeurStore: the facade every face (CLI, HTTP, SQL) uses. It joins a format (architecture + tensors), the
 * content store (exact dedup over the backend's records) and the catalog, all behind one `Backend`
 * (backend/backend.ts), whose `write` keeps the order that keeps data safe: records durable before the catalog
 * names them, under the backend's writer lock.
 */
import { NeurStoreError, cancelled, conflict, isNeurStoreError, notFound, notSupported } from '../errors.js';
import type { Env } from '../env/env.js';
import { NodeEnv } from '../env/node-env.js';
import type { Catalog, TensorRow } from '../catalog/catalog.js';
import type { Backend } from '../backend/backend.js';
import { isDatabaseUrl, openBackend, repairBackend, type BackendOptions } from '../backend/open-backend.js';
import { verifyModels, type RepairReport, type VerifyOptions, type VerifyReport } from './store-check.js';
import { checkEffort, checkPath, resolveMode, validateName } from './store-options.js';

export { resolveMode, validateName } from './store-options.js';
export { isDatabaseUrl } from '../backend/open-backend.js';
import { ContentStore, type StoredContent } from './content-store.js';
import { detectFormat, formatByName } from './format-registry.js';
import type { ModelSink, ModelSource, TensorEntry } from '../formats/model-format.js';
import { countingSource, openModelSource, stagedSink } from './model-files.js';
import { Codec, RecordKind, exactIdentity } from './record-payload.js';
import { TensorDecoder } from './tensor-decoder.js';
import { TensorEncoder } from './tensor-encoder.js';
import { putArchitecture, putTensors } from './model-put.js';
import type { ChunkReadAhead } from './chunk-read-ahead.js';
import { BasePool } from './base-pool.js';
import { ChunkedTensors } from './chunked-tensors.js';
import { EncodePool } from '../runtime/encode-pool.js';
import { exportTensors } from './model-export.js';
import { ModelLoader, type LoadOptions } from './model-loader.js';
import { BaseCache, type BaseCacheStats } from '../runtime/base-cache.js';
import { DecodePool } from '../runtime/decode-pool.js';
import { prefetcher } from '../runtime/prefetch.js';
import { checkLoadMode, type LoadedTensor } from '../runtime/load-forms.js';
import { tfjsModelOf, type TfjsModel } from '../runtime/tfjs-model.js';
import { ortSession, type OnnxSession } from '../runtime/onnx-session.js';
import { quantizedOnnxBytes } from './onnx-quantized.js';
import { decodeOnnxModel, encodeOnnxModel } from '../formats/onnx/onnx-proto.js';
import { onnxFormat } from '../formats/onnx/onnx-format.js';
import { memoryModelSink } from '../formats/memory-model-source.js';
import type { StoredModel } from '../formats/model-format.js';
import {
  DEFAULT_TOLERANCE, type GcOptions, type GcResult, type GetOptions, type OnnxSessionLoadOptions, type Mode, type ModelDetails, type ModelInfo, type PutOptions,
  type PutResult, type StoreStats,
} from './store-types.js';

/** Stored tensors of a shape a lossless put considers as XOR bases. */
const LOSSLESS_LOADED_PER_SHAPE = 8;

export interface OpenOptions {
  env?: Env;
  /** The backend to use, already open (the store closes it); the location is then only for messages. */
  backend?: Backend;
  /** Create the store if the location holds none (default false: NOT_FOUND). */
  create?: boolean;
  /** Options of the embedded engine (segment and page sizes, key index). */
  engine?: BackendOptions['engine'];
  /** How long a writer waits for another process's write (embedded store; default 60 s), then CONFLICT. */
  busyTimeoutMs?: number;
  /** Memory budget of the shared-base cache (default BASE_CACHE_BYTES, 256 MiB). */
  baseCacheBytes?: number;
  /** Decode worker threads (default: the machine's cores, at most 4; 0 decodes on the calling thread). */
  decodeWorkers?: number;
  /** Encode worker threads for large tensors' chunks (default as `decodeWorkers`; 0 encodes on the calling thread). */
  encodeWorkers?: number;
  /** Tensors larger than this are stored as chunk records, streamed (default CHUNK_BYTES, 8 MiB). */
  chunkBytes?: number;
  /**
   * Open for reading only: nothing is written, so `list`, `info`, `stats`, `get`, `load` and `verify` work on a
   * full disk and on read-only media; writes fail with CONFLICT.
   */
  readOnly?: boolean;
}

export class NeurStore {
  private readonly content: ContentStore;
  private readonly decoder: TensorDecoder;
  private readonly loader: ModelLoader;
  private readonly encodePool: EncodePool;
  private readonly chunked: ChunkedTensors;
  private constructor(
    /** The store's directory or database URL, as opened. */
    readonly location: string,
    private readonly env: Env,
    /** The backend (catalog, records, write): for tools that move stored records as they are (copy-models.ts). */
    readonly backend: Backend,
    options: OpenOptions,
  ) {
    this.content = new ContentStore(backend.records);
    const decodePool = new DecodePool({ workers: options.decodeWorkers });
    this.decoder = new TensorDecoder(this.content, new BaseCache(options.baseCacheBytes), decodePool);
    this.encodePool = new EncodePool(options.encodeWorkers);
    const candidates = { baseCandidates: (...a: Parameters<Catalog['baseCandidates']>) => this.catalog.baseCandidates(...a) };
    // Chunks decode on the same workers into memory of their own, moved back to this thread (not shared memory:
    // shared results stayed alive until both threads collected them, 1.3 GiB peak on a 1 GB get).
    this.chunked = new ChunkedTensors(this.content, candidates, this.encodePool, decodePool, { chunkBytes: options.chunkBytes });
    this.loader = new ModelLoader(this.content, this.decoder, (rows) => this.modelTensorBytes(rows));
  }

  /** The backend's catalog (looked up each time: a backend may reopen it, as SQLite does on a full disk). */
  private get catalog(): Catalog {
    return this.backend.catalog;
  }

  /** The store's directory (or database URL). Kept for existing callers: `location` says the same. */
  get dir(): string {
    return this.location;
  }

  /** Creates a store at `location` (a directory or a `postgres://` URL; idempotent) and opens it. */
  static init(location: string, options: Omit<OpenOptions, 'create'> = {}): Promise<NeurStore> {
    return NeurStore.open(location, { ...options, create: true });
  }

  /**
   * Opens the store at `location`: a directory (the embedded backend) or a `postgres://` URL; or, with
   * `options.backend`, that backend. NOT_FOUND when there is none and `create` is not set.
   */
  static async open(location: string, options: OpenOptions = {}): Promise<NeurStore> {
    const env = options.env ?? new NodeEnv();
    checkPath(location, isDatabaseUrl(location) ? 'store URL' : 'store directory');
    const backend = options.backend ?? (await openBackend(location, { ...options, env }));
    return new NeurStore(options.backend ? backend.location : location, env, backend, options);
  }

  /**
   * Repairs the store at `location`: what the backend can rebuild (a directory's manifest, from the segment
   * files; nothing is deleted), then verifies every model and reports what is damaged and which models lost
   * which tensors.
   */
  static async repair(location: string, options: Omit<OpenOptions, 'create' | 'readOnly' | 'backend'> & VerifyOptions = {}): Promise<RepairReport> {
    const manifest = await repairBackend(location, options);
    const store = await NeurStore.open(location, options);
    try {
      return { ...(await store.verify(undefined, options)), manifest };
    } finally {
      await store.close();
    }
  }

  /**
   * Stores the model at `path` (a file, or a directory of one model's files) in the mode asked (lossless by
   * default; see `PutOptions`). With `dryRun`, encodes everything and reports, but stores nothing.
   */
  async put(path: string, options: PutOptions): Promise<PutResult> {
    validateName(options.name);
    checkPath(path, 'model path');
    const source = await openModelSource(this.env, path);
    try {
      return await this.putSource(source, options);
    } finally {
      await source.close();
    }
  }

  /**
   * Stores the model `source` holds (its files by name: in memory, staged by an upload...) as `put` stores a
   * path. The caller owns the source (and closes it, if it holds anything open); tensors are read from it as
   * they are stored, so it must stay readable until the put returns.
   */
  async putSource(source: ModelSource, options: PutOptions): Promise<PutResult> {
    validateName(options.name);
    const { mode, tolerance } = resolveMode(options);
    const cancelledPut = (): NeurStoreError => cancelled(`put of '${options.name}' was cancelled; nothing of it is stored`);
    if (options.signal?.aborted) throw cancelledPut();
    const format = options.format ? formatByName(options.format) : await detectFormat(source);
    // The model's files are those its format reads (a directory's config.json or README is not one of them).
    const counted = countingSource(source);
    const layout = await format.read(counted); // a malformed model fails here, before anything is written
    const dryRun = Boolean(options.dryRun);
    const result = await this.backend.write((tx) => this.content.writing(tx.records, async () => {
      if (!dryRun && (await tx.catalog.modelExists(options.name))) throw conflict(`a model named '${options.name}' already exists`);
      const arch = await putArchitecture(this.content, layout.architecture);
      // Lossless XOR pays only against a near copy, most likely among the latest tensors of the shape.
      const pool = new BasePool(this.catalog, this.decoder, mode === 'lossless' ? LOSSLESS_LOADED_PER_SHAPE : undefined);
      const encoder = new TensorEncoder(this.content, pool, mode, tolerance, options.seed, checkEffort(options.effort));
      const rows = await putTensors(layout.tensors, this.chunked, encoder, mode, tolerance, options);
      encoder.finish();
      const model: ModelInfo = {
        name: options.name, format: format.name, createdMs: this.env.now(), bytesIn: counted.bytesOpened(),
        files: counted.filesOpened(), architectureKey: arch.key, mode, tolerance, tensorCount: rows.length,
        storedBytes: arch.storedBytes + rows.reduce((n, r) => n + r.storedBytes, 0), metadata: {}, tags: { ...options.tags },
      };
      const maxError = rows.reduce((m, r) => Math.max(m, r.maxError), 0);
      const put: PutResult = { ...model, tensors: rows, maxError, dryRun, indexMemoryBytes: pool.memoryBytes() };
      if (!dryRun) {
        await tx.catalog.insertModel(put, put.tensors);
        // Self-healing: models stored in a record that turned out damaged now share the fresh exact copy.
        for (const [damaged, fresh] of this.content.takeHealed()) await tx.catalog.repointRecord(damaged, fresh);
      }
      return put;
    }), { rollback: dryRun, signal: options.signal }).catch((e: unknown) => {
      this.decoder.clear(); // values decoded for records that were not kept
      throw isNeurStoreError(e, 'CANCELLED') ? cancelledPut() : e;
    });
    if (dryRun) this.decoder.clear();
    return result;
  }

  /**
   * Writes model `name` to `outPath`: in its own format, byte-identical to what was put, or with
   * `options.format` its tensors in another format. `outPath` is the main file's path (other files land beside
   * it), or a directory (one that exists, or a path ending in '/') the files are written into under the names
   * they were put with. Returns the files written (main file first). The files are written beside their targets
   * and moved into place only once the whole model is out: a failed or cancelled get leaves nothing at `outPath`.
   */
  async get(name: string, outPath: string, options: GetOptions = {}): Promise<string[]> {
    checkPath(outPath, 'output path');
    const intoDirectory = outPath.endsWith('/') || ((await this.env.exists(outPath)) && (await this.env.isDirectory(outPath)));
    const sink = stagedSink(this.env, outPath, { sync: options.sync, intoDirectory });
    try {
      await this.write(name, sink, options);
      await sink.commit();
    } catch (e) {
      await sink.discard();
      throw e;
    }
    return sink.written;
  }

  /**
   * Writes model `name`'s files into `sink` (the first file created is the main one), as `get` writes them to a
   * path: an HTTP response, memory (`memoryModelSink`), anything a format can write to. Large tensors stream
   * through in pieces. The sink is the caller's: on failure or CANCELLED it keeps what it was given so far.
   */
  async write(name: string, sink: ModelSink, options: GetOptions = {}): Promise<void> {
    const { signal } = options;
    const checkSignal = (): void => {
      if (signal?.aborted) throw cancelled(`get of '${name}' was cancelled; its output is incomplete`);
    };
    checkSignal();
    const { model, rows, stored } = await this.storedModel(name, options.verify);
    const { architecture } = stored;
    const format = formatByName(model.format);
    const total = rows.reduce((n, r) => n + r.byteLength, 0);
    let done = 0;
    const counted = (bytes: Uint8Array): Uint8Array => {
      options.onProgress?.({ phase: 'get', done: (done += bytes.length), total });
      return bytes;
    };
    // The signal is looked at before each tensor and each piece of a chunked one.
    const tensorBytes = async (i: number): Promise<Uint8Array> => {
      checkSignal();
      return counted(await stored.tensorBytes(i));
    };
    async function* tensorPieces(i: number, pieceOptions?: { readonly reuse?: boolean }): AsyncGenerator<Uint8Array> {
      checkSignal();
      for await (const piece of stored.tensorPieces!(i, pieceOptions)) {
        checkSignal();
        yield counted(piece);
      }
    }
    if (!options.format || options.format === format.name) {
      await format.write({ architecture, tensorBytes, tensorPieces }, sink);
    } else {
      formatByName(options.format);
      await exportTensors({ modelName: name, format: format.name, architecture, tensors: rows, tensorBytes }, options.format, sink);
    }
    checkSignal();
  }

  /**
   * Model `name`'s tensors in a load mode (fp32 by default; see `LoadMode`), streamed in order while the
   * next ones are read and decoded on the worker pool. Bases shared by a family are decoded once and cached.
   * `options.signal` stops it before the next tensor with CANCELLED.
   */
  async *load(name: string, options: LoadOptions = {}): AsyncGenerator<LoadedTensor> {
    if (options.signal?.aborted) throw cancelled(`the load of '${name}' was cancelled`);
    const model = await this.requireModel(name);
    yield* this.loader.load(await this.catalog.tensors(name), model.tolerance, options);
  }

  /** Model `name` (a TF.js graph or layers model) loaded into TF.js, built in memory from the store. */
  async tfjsModel(name: string): Promise<TfjsModel> {
    const { model, stored } = await this.storedModel(name);
    if (model.format !== 'tfjs') throw notSupported(`model '${name}' is ${model.format}, not a TF.js model`);
    return tfjsModelOf(name, stored);
  }

  /**
   * An ONNX Runtime session over model `name` (an ONNX model). `exact`/`fp32` give the model as it was put;
   * `int8` and `int8+delta` replace its float weights by 8-bit codes (plus the residual within the
   * tolerance) decoded in the graph by DequantizeLinear nodes; `fp16` is NOT_SUPPORTED (an ONNX graph
   * declares its weights' dtype).
   */
  async onnxSession(name: string, options: OnnxSessionLoadOptions = {}): Promise<OnnxSession> {
    const mode = checkLoadMode(options.mode ?? 'fp32');
    const { model, rows, stored } = await this.storedModel(name);
    if (model.format !== 'onnx') throw notSupported(`model '${name}' is ${model.format}, not an ONNX model`);
    if (mode === 'fp16') throw notSupported('fp16 ONNX sessions are not supported: the graph declares its weights\' dtype (use exact, int8 or int8+delta)');
    if (mode === 'exact' || mode === 'fp32') {
      const sink = memoryModelSink();
      await onnxFormat.write(stored, sink);
      if (sink.files.size === 1) return ortSession([...sink.files.values()][0]!, options.session);
      return ortSession(encodeOnnxModel(await decodeOnnxModel(stored)), options.session);
    }
    const tol = options.tolerance ?? (model.tolerance > 0 ? model.tolerance : DEFAULT_TOLERANCE);
    return ortSession(await quantizedOnnxBytes(stored, rows, this.loader, mode === 'int8+delta' ? tol : null), options.session);
  }

  /** Counters of the shared-base cache (decoded bases held, bytes, hits and misses). */
  cacheStats(): BaseCacheStats {
    return this.decoder.cache.stats();
  }

  async list(): Promise<ModelInfo[]> {
    return this.catalog.listModels();
  }

  async info(name: string): Promise<ModelDetails> {
    const model = await this.requireModel(name);
    const tensors = await this.catalog.tensors(name);
    return { ...model, tensors, maxError: tensors.reduce((m, t) => Math.max(m, t.maxError), 0) };
  }

  /** The model and tensor a record (a base) was first stored for, to name bases in `info`. */
  async tensorOfRecord(key: bigint): Promise<{ model: string; tensor: string } | undefined> {
    return this.catalog.tensorOfRecord(key);
  }

  /** Removes a model from the catalog; its space comes back at the next `gc`. */
  async remove(name: string): Promise<void> {
    const removed = await this.backend.write((tx) => tx.catalog.deleteModel(name));
    if (!removed) throw notFound(`no model named '${name}'`);
  }

  /**
   * Reclaims the space of records no model references. Refuses (CORRUPTION, nothing deleted) when a record a
   * model needs cannot be found or read: run `verify`/`repair` to see which. `options.signal` stops it
   * (CANCELLED, nothing reclaimed) before the exclusive write, while the live records are walked, or just
   * before reclaiming; reclaiming itself runs to its end.
   */
  async gc(options: GcOptions = {}): Promise<GcResult> {
    const { signal } = options;
    const checkSignal = (): void => {
      if (signal?.aborted) throw cancelled('gc was cancelled; nothing was reclaimed');
    };
    checkSignal();
    return this.backend.write(async (tx) => {
      const live = await this.liveClosure(options);
      checkSignal();
      return tx.records.reclaim((k) => live.has(k));
    }, { exclusive: true, signal }).catch((e: unknown) => {
      throw isNeurStoreError(e, 'CANCELLED') ? cancelled('gc was cancelled; nothing was reclaimed') : e;
    });
  }

  /**
   * Re-reads every record model `name` needs (every model's when omitted), checking record checksums and the
   * SHA-256 of every decoded tensor, and every catalog row's checksum. Changes nothing.
   */
  async verify(name?: string, options: VerifyOptions = {}): Promise<VerifyReport> {
    await this.backend.records.refresh();
    // Chunked tensors are checked piece by piece (never held whole), through one read-ahead per model.
    let model: { rows: readonly TensorRow[]; reader: ChunkReadAhead } | null = null;
    const read = {
      tensor: async (row: TensorRow, rows: readonly TensorRow[]) => {
        if (row.codec !== 'chunked') return this.decoder.tensorBytes(row.recordKey, row.dtype);
        if (model?.rows !== rows) model = { rows, reader: this.chunkReader(rows, true) };
        for await (const piece of model.reader.pieces(rows.indexOf(row))) void piece;
      },
      architecture: (key: bigint) => this.decoder.tensorBytes(key, 'U8', RecordKind.Architecture),
    };
    return verifyModels(this.catalog, read, await this.backend.records.damaged(), name === undefined ? undefined : [name], options);
  }

  /** Tensor i of a model (`rows`) as exact bytes, whole, however it is stored; one read-ahead for its chunked ones. */
  private modelTensorBytes(rows: readonly TensorRow[]): (i: number) => Promise<Uint8Array> {
    const reader = this.chunkReader(rows);
    return (i) => (rows[i]!.codec === 'chunked' ? reader.whole(i) : this.decoder.tensorBytes(rows[i]!.recordKey, rows[i]!.dtype));
  }

  /** One read-ahead over a model's chunked tensors (most tensors are a few chunks), in the order they are asked for. */
  private chunkReader(rows: readonly TensorRow[], verify = false): ChunkReadAhead {
    return this.chunked.reader(rows.map((r) => (r.codec === 'chunked' ? r.recordKey : null)), verify);
  }

  /**
   * Every record a live model needs: the catalog's (tensors, their direct bases, architectures) and, followed
   * through the records' own headers, the bases of those bases, whose models may be gone (a delta chain
   * a -> b -> c stays decodable after a's and b's models are removed), and the chunks of chunked tensors.
   * Each live record is read whole and checked on the way (gc costs a read of the live data, as `verify`).
   */
  private async liveClosure(options: GcOptions = {}): Promise<Set<bigint>> {
    const live = await this.catalog.liveRecordKeys();
    const queue = [...live];
    let checked = 0;
    while (queue.length > 0) {
      if (options.signal?.aborted) throw cancelled('gc was cancelled; nothing was reclaimed');
      const key = queue.pop()!;
      if (!(await this.backend.records.has(key))) {
        const who = await this.catalog.tensorOfRecord(key);
        const owner = who ? `model '${who.model}' (tensor '${who.tensor}')` : 'a live model';
        const damaged = (await this.backend.records.damaged()).length > 0 ? ' (the store is damaged)' : '';
        throw new NeurStoreError('CORRUPTION', `gc refused, nothing deleted: record ${key.toString(16)} that ${owner} needs is missing${damaged}; run \`neurstore verify\` and \`neurstore repair\``);
      }
      // The whole record is read and checked, not just its head: a flipped bit in an unchecked head could hide
      // a base from this walk, and gc would delete a record that is still needed.
      const { header } = await this.content.read(key);
      const needs = header.codec === Codec.ChunkList ? await this.chunked.chunkKeys(key) : [];
      if (header.base) needs.push(header.base.key);
      for (const k of needs) {
        if (live.has(k)) continue;
        live.add(k);
        queue.push(k);
      }
      options.onProgress?.({ phase: 'gc', done: ++checked, total: live.size });
    }
    return live;
  }

  async stats(): Promise<StoreStats> {
    const b = await this.backend.stats();
    const totals = await this.catalog.totals();
    const bytesOnDisk = b.recordBytes + b.catalogBytes;
    return {
      models: totals.models,
      tensors: totals.tensors,
      bytesIn: totals.bytesIn,
      bytesOnDisk,
      ratio: bytesOnDisk > 0 ? totals.bytesIn / bytesOnDisk : 0,
      dedupHits: totals.tensors - totals.distinctTensorRecords,
      records: b.records,
      recordBytes: b.recordBytes,
      segmentBytes: b.recordBytes,
      catalogBytes: b.catalogBytes,
    };
  }

  async close(): Promise<void> {
    await this.decoder.close();
    await this.encodePool.close();
    await this.backend.close();
  }

  /** A model's catalog rows and the StoredModel formats write from (tensors read ahead on the decode pool). */
  private async storedModel(name: string, verify = false): Promise<{ model: ModelInfo; rows: TensorRow[]; stored: StoredModel }> {
    const model = await this.requireModel(name);
    const rows = await this.catalog.tensors(name);
    const architecture = await this.decoder.tensorBytes(model.architectureKey, 'U8', RecordKind.Architecture);
    // Chunked tensors stream through their own bounded read-ahead: the prefetcher leaves them alone.
    const chunked = (i: number): boolean => rows[i]?.codec === 'chunked';
    const fetch = prefetcher(rows.map((r, i) => (chunked(i) ? 0 : r.byteLength)),
      (i) => (chunked(i) ? Promise.resolve(null) : this.decoder.tensorBytes(rows[i]!.recordKey, rows[i]!.dtype)));
    const row = (i: number): TensorRow => {
      if (!rows[i]) throw notFound(`model '${name}' has no tensor number ${i}`);
      return rows[i]!;
    };
    const reader = this.chunkReader(rows, verify);
    const tensorBytes = async (i: number): Promise<Uint8Array> => (chunked(i) ? reader.whole(i) : (await fetch(i))!);
    async function* tensorPieces(i: number, options?: { readonly reuse?: boolean }): AsyncGenerator<Uint8Array> {
      if (chunked(i)) yield* reader.pieces(i, options?.reuse);
      else yield await tensorBytes(i);
    }
    return { model, rows, stored: { architecture, tensorBytes, tensorPieces } };
  }

  private async requireModel(name: string): Promise<ModelInfo> {
    const model = await this.catalog.getModel(name);
    if (!model) throw notFound(`no model named '${name}'`);
    return model;
  }
}
