/**
 * NeurStore: the facade every face (CLI, HTTP, SQL) uses. It joins a format (architecture + tensors), the
 * content store (exact dedup over the engine) and the catalog, and owns the order that keeps data safe:
 * records are durable (engine commit) before the catalog names them, all under the catalog's writer lock.
 */
import { NeurStoreError, cancelled, conflict, invalidArgument, ioError, notFound, notSupported } from '../errors.js';
import { joinPath, writeFileAtomic, type Env } from '../env/env.js';
import { NodeEnv } from '../env/node-env.js';
import type { Catalog, TensorRow } from '../catalog/catalog.js';
import { SqliteCatalog } from '../catalog/sqlite/sqlite-catalog.js';
import { TensorEngine, type EngineOptions } from '../engine/tensor-engine.js';
import { rebuildManifestIfNeeded } from '../engine/engine-repair.js';
import { verifyModels, type RepairReport, type VerifyOptions, type VerifyReport } from './store-check.js';
import { CATALOG_FILE, RESERVE_FILE, STORE_MARKER, STORE_MARKER_FILE, ensureReserve, openCatalog } from './store-files.js';
import { checkEffort, checkPath, resolveMode, validateName } from './store-options.js';

export { STORE_MARKER_FILE, RESERVE_FILE } from './store-files.js';
export { resolveMode, validateName } from './store-options.js';
import { ContentStore, type StoredContent } from './content-store.js';
import { detectFormat, formatByName } from './format-registry.js';
import type { TensorEntry } from '../formats/model-format.js';
import { openModelSource, stagedSink } from './model-files.js';
import { Codec, RecordKind, exactIdentity } from './record-payload.js';
import { TensorDecoder } from './tensor-decoder.js';
import { TensorEncoder } from './tensor-encoder.js';
import { BasePool } from './base-pool.js';
import { ChunkedTensors } from './chunked-tensors.js';
import { EncodePool } from '../runtime/encode-pool.js';
import { compress } from 'zstd-napi';
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
  DEFAULT_TOLERANCE, type GcResult, type GetOptions, type OnnxSessionLoadOptions, type Mode, type ModelDetails, type ModelInfo, type PutOptions,
  type PutResult, type StoreStats,
} from './store-types.js';

/** Stored tensors of a shape a lossless put considers as XOR bases. */
const LOSSLESS_LOADED_PER_SHAPE = 8;

export interface OpenOptions {
  env?: Env;
  /** Catalog backend (default: SQLite at DIR/catalog.sqlite). */
  catalog?: Catalog;
  /** Create the store if DIR holds none (default false: NOT_FOUND). */
  create?: boolean;
  engine?: EngineOptions;
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
  /** Set when a writable open found the disk too full for the catalog: only `remove` and `gc` may write then. */
  private diskFull = false;

  private constructor(
    readonly dir: string,
    private readonly env: Env,
    private catalog: Catalog,
    private readonly engine: TensorEngine,
    options: OpenOptions,
  ) {
    this.content = new ContentStore(engine);
    this.decoder = new TensorDecoder(this.content, new BaseCache(options.baseCacheBytes), new DecodePool({ workers: options.decodeWorkers }));
    this.encodePool = new EncodePool(options.encodeWorkers);
    const candidates = { baseCandidates: (...a: Parameters<Catalog['baseCandidates']>) => this.catalog.baseCandidates(...a) };
    // Chunks decode on this thread: on a 1 GB get the decode workers made it slower (9.7 vs 6.0 s) and held
    // their shared results until both threads collected them (peak RSS 1.3 GiB vs 306 MiB). Encoding pays on workers.
    this.chunked = new ChunkedTensors(this.content, candidates, this.encodePool, new DecodePool({ workers: 0 }), { chunkBytes: options.chunkBytes });
    this.loader = new ModelLoader(this.content, this.decoder, (row) => this.tensorBytes(row));
  }

  /** Creates a store in `dir` (idempotent) and opens it. */
  static init(dir: string, options: Omit<OpenOptions, 'create'> = {}): Promise<NeurStore> {
    return NeurStore.open(dir, { ...options, create: true });
  }

  /** Opens the store in `dir`. NOT_FOUND when there is none and `create` is not set. */
  static async open(dir: string, options: OpenOptions = {}): Promise<NeurStore> {
    const env = options.env ?? new NodeEnv();
    checkPath(dir, 'store directory');
    const marker = joinPath(dir, STORE_MARKER_FILE);
    if (!(await env.exists(marker))) {
      if (!options.create || options.readOnly) throw notFound(`no NeurStore at ${dir}: create one with \`neurstore init ${dir}\``);
      await env.mkdir(dir);
      await writeFileAtomic(env, marker, Buffer.from(STORE_MARKER));
      await ensureReserve(env, dir);
    }
    const engine = await TensorEngine.open(env, dir, { ...options.engine, readOnly: options.readOnly });
    try {
      if (options.catalog) return new NeurStore(dir, env, options.catalog, engine, options);
      const { catalog, diskFull } = await openCatalog(dir, Boolean(options.readOnly));
      const store = new NeurStore(dir, env, catalog, engine, options);
      store.diskFull = diskFull;
      return store;
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Repairs the store in `dir`: rebuilds a missing or damaged manifest from the segment files (nothing is
   * deleted), then verifies every model and reports what is damaged and which models lost which tensors.
   */
  static async repair(dir: string, options: Omit<OpenOptions, 'create' | 'readOnly'> & VerifyOptions = {}): Promise<RepairReport> {
    const env = options.env ?? new NodeEnv();
    if (!(await env.exists(joinPath(dir, STORE_MARKER_FILE)))) throw notFound(`no NeurStore at ${dir}`);
    const catalog = options.catalog ?? new SqliteCatalog(joinPath(dir, CATALOG_FILE));
    let rebuilt;
    try {
      rebuilt = await catalog.write(() => rebuildManifestIfNeeded(env, dir));
    } finally {
      if (!options.catalog) await catalog.close();
    }
    const store = await NeurStore.open(dir, options);
    try {
      const report = await store.verify(undefined, options);
      return { ...report, manifest: { reason: rebuilt.reason, records: rebuilt.records, savedAs: rebuilt.savedAs, segments: rebuilt.manifest.segments.length } };
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
    if (this.diskFull) throw ioError(`the disk holding ${this.dir} is full: free space (\`neurstore rm\` then \`neurstore gc\` can run on a full disk)`);
    const { mode, tolerance } = resolveMode(options);
    const source = await openModelSource(this.env, path);
    try {
      const format = options.format ? formatByName(options.format) : await detectFormat(source);
      const layout = await format.read(source); // a malformed model fails here, before anything is written
      return await this.catalog.write(async (tx) => {
        if (!options.dryRun && (await tx.modelExists(options.name))) throw conflict(`a model named '${options.name}' already exists`);
        await this.engine.beginWrite();
        let result: PutResult;
        try {
          const arch = await this.putArchitecture(layout.architecture);
          // Lossless XOR pays only against a near copy, most likely among the latest tensors of the shape.
          const pool = new BasePool(this.catalog, this.decoder, mode === 'lossless' ? LOSSLESS_LOADED_PER_SHAPE : undefined);
          const encoder = new TensorEncoder(this.content, pool, mode, tolerance, options.seed, checkEffort(options.effort));
          const rows = await this.putTensors(layout.tensors, encoder, mode, tolerance, options);
          encoder.finish();
          const model: ModelInfo = {
            name: options.name, format: format.name, createdMs: this.env.now(), bytesIn: source.bytesOpened(),
            files: source.files, architectureKey: arch.key, mode, tolerance, tensorCount: rows.length,
            storedBytes: arch.storedBytes + rows.reduce((n, r) => n + r.storedBytes, 0), metadata: {}, tags: { ...options.tags },
          };
          const maxError = rows.reduce((m, r) => Math.max(m, r.maxError), 0);
          result = { ...model, tensors: rows, maxError, dryRun: Boolean(options.dryRun), indexMemoryBytes: pool.memoryBytes() };
          if (options.dryRun) await this.abort();
          else await this.engine.commit();
        } catch (e) {
          await this.abort();
          throw e;
        }
        if (!options.dryRun) {
          await tx.insertModel(result, result.tensors);
          // Self-healing: models stored in a record that turned out damaged now share the fresh exact copy.
          for (const [damaged, fresh] of this.content.takeHealed()) await tx.repointRecord(damaged, fresh);
        }
        return result;
      });
    } finally {
      await source.close();
    }
  }

  /** Drops a write batch, and the decoded values the encoder cached for records that now do not exist. */
  private async abort(): Promise<void> {
    this.decoder.clear();
    this.content.takeHealed();
    await this.engine.abort();
  }

  private async putArchitecture(bytes: Uint8Array): Promise<StoredContent> {
    const identity = exactIdentity(RecordKind.Architecture, bytes);
    const found = await this.content.find(identity);
    if (found) return { key: found.key, storedBytes: 0 };
    const z = compress(bytes, { compressionLevel: 3 });
    const zstd = z.length < bytes.length;
    return this.content.add({ kind: RecordKind.Architecture, codec: zstd ? Codec.Zstd : Codec.Raw, identity, body: zstd ? z : bytes });
  }

  /**
   * Stores every tensor: large ones as chunk records, streamed (chunked-tensors.ts: lossless, or group-quantized
   * within the bound in the default mode); the rest, and every tensor in paper mode, whole through the encoder.
   */
  private async putTensors(tensors: readonly TensorEntry[], encoder: TensorEncoder, mode: Mode, tolerance: number, options: PutOptions): Promise<TensorRow[]> {
    const total = tensors.reduce((n, t) => n + t.byteLength, 0);
    const rows: TensorRow[] = [];
    let done = 0;
    for (const [index, t] of tensors.entries()) {
      if (options.signal?.aborted) throw cancelled(`put of '${options.name}' was cancelled; nothing of it is stored`);
      let e;
      if (mode !== 'paper' && this.chunked.applies(t.byteLength)) {
        const progress = (n: number): void => options.onProgress?.({ phase: 'put', done: (done += n), total });
        const lossy = mode === 'default' ? { tolerance } : {};
        e = await this.chunked.put(t, { signal: options.signal, onBytes: progress, effort: options.effort, ...lossy }).catch((err: unknown) => {
          throw options.signal?.aborted ? cancelled(`put of '${options.name}' was cancelled; nothing of it is stored`) : err;
        });
      } else {
        const bytes = await t.read();
        if (bytes.length !== t.byteLength) {
          throw invalidArgument(`tensor '${t.name}' has ${bytes.length} bytes, its header says ${t.byteLength}`);
        }
        e = await encoder.put({ name: t.name, dtype: t.dtype, shape: t.shape, bytes });
      }
      rows.push({ index, name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength, recordKey: e.key, ...e });
      if (e.codec !== 'chunked') options.onProgress?.({ phase: 'put', done: (done += t.byteLength), total });
    }
    return rows;
  }

  /**
   * Writes model `name` to `outPath`: in its own format, byte-identical to what was put, or with
   * `options.format` its tensors in another format. Returns the files written (main file first).
   */
  async get(name: string, outPath: string, options: GetOptions = {}): Promise<string[]> {
    checkPath(outPath, 'output path');
    if ((await this.env.exists(outPath)) && (await this.env.isDirectory(outPath))) {
      throw invalidArgument(`output path ${outPath} is a directory: give a file path (e.g. ${joinPath(outPath, name.replace(/[^\w.-]+/g, '_'))}.${'<ext>'})`);
    }
    const { model, rows, stored } = await this.storedModel(name);
    const { architecture } = stored;
    const format = formatByName(model.format);
    const total = rows.reduce((n, r) => n + r.byteLength, 0);
    let done = 0;
    const counted = (bytes: Uint8Array): Uint8Array => {
      options.onProgress?.({ phase: 'get', done: (done += bytes.length), total });
      return bytes;
    };
    const tensorBytes = async (i: number): Promise<Uint8Array> => counted(await stored.tensorBytes(i));
    async function* tensorPieces(i: number): AsyncGenerator<Uint8Array> {
      for await (const piece of stored.tensorPieces!(i)) yield counted(piece);
    }
    const sink = stagedSink(this.env, outPath);
    try {
      if (!options.format || options.format === format.name) {
        await format.write({ architecture, tensorBytes, tensorPieces }, sink);
      } else {
        formatByName(options.format);
        await exportTensors({ modelName: name, format: format.name, architecture, tensors: rows, tensorBytes }, options.format, sink);
      }
      await sink.commit();
    } catch (e) {
      await sink.discard();
      throw e;
    }
    return sink.written;
  }

  /**
   * Model `name`'s tensors in a load mode (fp32 by default; see `LoadMode`), streamed in order while the
   * next ones are read and decoded on the worker pool. Bases shared by a family are decoded once and cached.
   */
  async *load(name: string, options: LoadOptions = {}): AsyncGenerator<LoadedTensor> {
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
    await this.useReserveIfFull();
    const removed = await this.catalog.write((tx) => tx.deleteModel(name));
    if (!removed) throw notFound(`no model named '${name}'`);
  }

  /**
   * Reclaims the space of records no model references. Refuses (CORRUPTION, nothing deleted) when a record a
   * model needs cannot be found or read: run `verify`/`repair` to see which.
   */
  async gc(): Promise<GcResult> {
    await this.useReserveIfFull();
    const result = await this.catalog.write(async () => {
      await this.engine.beginWrite();
      try {
        const live = await this.liveClosure();
        return await this.engine.compact((k) => live.has(k));
      } catch (e) {
        await this.engine.abort();
        throw e;
      }
    });
    await ensureReserve(this.env, this.dir);
    return result;
  }

  /** On a full disk, gives up the reserve file so the catalog can take the write that frees space. */
  private async useReserveIfFull(): Promise<void> {
    if (!this.diskFull) return;
    await this.env.remove(joinPath(this.dir, RESERVE_FILE));
    const writable = new SqliteCatalog(joinPath(this.dir, CATALOG_FILE));
    await this.catalog.close();
    this.catalog = writable;
    this.diskFull = false;
  }

  /**
   * Re-reads every record model `name` needs (every model's when omitted), checking record checksums and the
   * SHA-256 of every decoded tensor, and every catalog row's checksum. Changes nothing.
   */
  async verify(name?: string, options: VerifyOptions = {}): Promise<VerifyReport> {
    await this.engine.refresh();
    const read = {
      // Chunked tensors are checked piece by piece (never held whole): verify runs in bounded memory.
      tensor: async (row: TensorRow) => {
        if (row.codec !== 'chunked') return this.tensorBytes(row);
        for await (const piece of this.chunked.pieces(row.recordKey)) void piece;
      },
      architecture: (key: bigint) => this.decoder.tensorBytes(key, 'U8', RecordKind.Architecture),
    };
    return verifyModels(this.catalog, read, this.engine.damaged, name === undefined ? undefined : [name], options);
  }

  /** A tensor's exact bytes, whole, however it is stored. */
  private tensorBytes(row: TensorRow): Promise<Uint8Array> {
    return row.codec === 'chunked' ? this.chunked.bytes(row.recordKey) : this.decoder.tensorBytes(row.recordKey, row.dtype);
  }

  /**
   * Every record a live model needs: the catalog's (tensors, their direct bases, architectures) and, followed
   * through the records' own headers, the bases of those bases, whose models may be gone (a delta chain
   * a -> b -> c stays decodable after a's and b's models are removed), and the chunks of chunked tensors.
   * Each live record is read whole and checked on the way (gc costs a read of the live data, as `verify`).
   */
  private async liveClosure(): Promise<Set<bigint>> {
    const live = await this.catalog.liveRecordKeys();
    const queue = [...live];
    while (queue.length > 0) {
      const key = queue.pop()!;
      if (!this.engine.has(key)) {
        const who = await this.catalog.tensorOfRecord(key);
        const owner = who ? `model '${who.model}' (tensor '${who.tensor}')` : 'a live model';
        throw new NeurStoreError('CORRUPTION', `gc refused, nothing deleted: record ${key.toString(16)} that ${owner} needs is missing${this.engine.damaged.length ? ' (the store has damaged segments)' : ''}; run \`neurstore verify\` and \`neurstore repair\``);
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
    }
    return live;
  }

  async stats(): Promise<StoreStats> {
    await this.engine.refresh();
    const totals = await this.catalog.totals();
    const catalogBytes = await this.catalog.diskBytes();
    const segmentBytes = await this.filesBytes(joinPath(this.dir, 'segments'));
    const bytesOnDisk = segmentBytes + catalogBytes + (await this.filesBytes(this.dir));
    return {
      models: totals.models,
      tensors: totals.tensors,
      bytesIn: totals.bytesIn,
      bytesOnDisk,
      ratio: bytesOnDisk > 0 ? totals.bytesIn / bytesOnDisk : 0,
      dedupHits: totals.tensors - totals.distinctTensorRecords,
      records: this.engine.recordCount,
      segmentBytes,
      catalogBytes,
    };
  }

  async close(): Promise<void> {
    await this.decoder.close();
    await this.encodePool.close();
    await this.engine.close();
    await this.catalog.close();
  }

  /** A model's catalog rows and the StoredModel formats write from (tensors read ahead on the decode pool). */
  private async storedModel(name: string): Promise<{ model: ModelInfo; rows: TensorRow[]; stored: StoredModel }> {
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
    const store = this.chunked;
    const tensorBytes = async (i: number): Promise<Uint8Array> => (chunked(i) ? store.bytes(row(i).recordKey) : (await fetch(i))!);
    async function* tensorPieces(i: number): AsyncGenerator<Uint8Array> {
      if (chunked(i)) yield* store.pieces(row(i).recordKey);
      else yield await tensorBytes(i);
    }
    return { model, rows, stored: { architecture, tensorBytes, tensorPieces } };
  }

  private async requireModel(name: string): Promise<ModelInfo> {
    const model = await this.catalog.getModel(name);
    if (!model) throw notFound(`no model named '${name}'`);
    return model;
  }

  /** Sum of the sizes of the plain files directly in `dir`, catalog files excepted (counted by the catalog). */
  private async filesBytes(dir: string): Promise<number> {
    let n = 0;
    for (const name of await this.env.list(dir)) {
      const p = joinPath(dir, name);
      if (name.startsWith(CATALOG_FILE) || name === RESERVE_FILE || (await this.env.isDirectory(p))) continue;
      n += await this.env.fileSize(p).catch((e: unknown) => (e instanceof NeurStoreError && e.code === 'NOT_FOUND' ? 0 : Promise.reject(e)));
    }
    return n;
  }
}
