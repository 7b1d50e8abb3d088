/**
 * NeurStore: the facade every face (CLI, HTTP, SQL) uses. It joins a format (architecture + tensors), the
 * content store (exact dedup over the engine) and the catalog, and owns the order that keeps data safe:
 * records are durable (engine commit) before the catalog names them, all under the catalog's writer lock.
 */
import { NeurStoreError, conflict, invalidArgument, notFound } from '../errors.js';
import { joinPath, writeFileAtomic, type Env } from '../env/env.js';
import { NodeEnv } from '../env/node-env.js';
import type { Catalog, TensorRow } from '../catalog/catalog.js';
import { SqliteCatalog } from '../catalog/sqlite/sqlite-catalog.js';
import { TensorEngine, type EngineOptions } from '../engine/tensor-engine.js';
import { ContentStore, type StoredContent } from './content-store.js';
import { detectFormat, formatByName } from './format-registry.js';
import type { TensorEntry } from '../formats/model-format.js';
import { openModelSource, stagedSink } from './model-files.js';
import { RecordKind } from './record-payload.js';
import { exportTensors } from './model-export.js';
import type { GcResult, GetOptions, ModelDetails, ModelInfo, PutOptions, StoreStats } from './store-types.js';

export const STORE_MARKER_FILE = 'NEURSTORE';
const STORE_MARKER = JSON.stringify({ format: 'neurstore', version: 1 }) + '\n';

export interface OpenOptions {
  env?: Env;
  /** Catalog backend (default: SQLite at DIR/catalog.sqlite). */
  catalog?: Catalog;
  /** Create the store if DIR holds none (default false: NOT_FOUND). */
  create?: boolean;
  engine?: EngineOptions;
}

export class NeurStore {
  private readonly content: ContentStore;

  private constructor(
    readonly dir: string,
    private readonly env: Env,
    private readonly catalog: Catalog,
    private readonly engine: TensorEngine,
  ) {
    this.content = new ContentStore(engine);
  }

  /** Creates a store in `dir` (idempotent) and opens it. */
  static init(dir: string, options: Omit<OpenOptions, 'create'> = {}): Promise<NeurStore> {
    return NeurStore.open(dir, { ...options, create: true });
  }

  /** Opens the store in `dir`. NOT_FOUND when there is none and `create` is not set. */
  static async open(dir: string, options: OpenOptions = {}): Promise<NeurStore> {
    const env = options.env ?? new NodeEnv();
    const marker = joinPath(dir, STORE_MARKER_FILE);
    if (!(await env.exists(marker))) {
      if (!options.create) throw notFound(`no NeurStore at ${dir}: create one with \`neurstore init ${dir}\``);
      await env.mkdir(dir);
      await writeFileAtomic(env, marker, Buffer.from(STORE_MARKER));
    }
    const engine = await TensorEngine.open(env, dir, options.engine);
    const catalog = options.catalog ?? new SqliteCatalog(joinPath(dir, 'catalog.sqlite'));
    return new NeurStore(dir, env, catalog, engine);
  }

  /** Stores the model at `path` (a file, or a directory of one model's files). */
  async put(path: string, options: PutOptions): Promise<ModelInfo> {
    validateName(options.name);
    const source = await openModelSource(this.env, path);
    try {
      const format = options.format ? formatByName(options.format) : await detectFormat(source);
      const layout = await format.read(source); // a malformed model fails here, before anything is written
      const total = layout.tensors.reduce((n, t) => n + t.byteLength, 0);
      return await this.catalog.write(async (tx) => {
        if (await tx.modelExists(options.name)) throw conflict(`a model named '${options.name}' already exists`);
        await this.engine.beginWrite();
        let arch: StoredContent;
        let rows: TensorRow[];
        try {
          arch = await this.content.put(RecordKind.Architecture, layout.architecture);
          rows = await this.putTensors(layout.tensors, total, options);
          await this.engine.commit();
        } catch (e) {
          await this.engine.abort();
          throw e;
        }
        const model: ModelInfo = {
          name: options.name,
          format: format.name,
          createdMs: this.env.now(),
          bytesIn: source.bytesOpened(),
          files: source.files,
          architectureKey: arch.key,
          tensorCount: rows.length,
          storedBytes: arch.storedBytes + rows.reduce((n, r) => n + r.storedBytes, 0),
          metadata: {},
          tags: { ...options.tags },
        };
        await tx.insertModel(model, rows);
        return model;
      });
    } finally {
      await source.close();
    }
  }

  private async putTensors(tensors: readonly TensorEntry[], total: number, options: PutOptions): Promise<TensorRow[]> {
    const rows: TensorRow[] = [];
    let done = 0;
    for (const [index, t] of tensors.entries()) {
      const bytes = await t.read();
      if (bytes.length !== t.byteLength) {
        throw invalidArgument(`tensor '${t.name}' has ${bytes.length} bytes, its header says ${t.byteLength}`);
      }
      const stored = await this.content.put(RecordKind.Tensor, bytes);
      rows.push({
        index, name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.byteLength,
        recordKey: stored.key, storedAs: stored.isNew ? 'new' : 'duplicate', storedBytes: stored.storedBytes,
      });
      done += t.byteLength;
      options.onProgress?.({ phase: 'put', done, total });
    }
    return rows;
  }

  /**
   * Writes model `name` to `outPath`: in its own format, byte-identical to what was put, or with
   * `options.format` its tensors in another format. Returns the files written (main file first).
   */
  async get(name: string, outPath: string, options: GetOptions = {}): Promise<string[]> {
    const model = await this.requireModel(name);
    const rows = await this.catalog.tensors(name);
    const architecture = await this.content.get(RecordKind.Architecture, model.architectureKey);
    const format = formatByName(model.format);
    const total = rows.reduce((n, r) => n + r.byteLength, 0);
    let done = 0;
    const tensorBytes = async (i: number): Promise<Uint8Array> => {
      const row = rows[i];
      if (!row) throw notFound(`model '${name}' has no tensor number ${i}`);
      const bytes = await this.content.get(RecordKind.Tensor, row.recordKey);
      done += bytes.length;
      options.onProgress?.({ phase: 'get', done, total });
      return bytes;
    };
    const sink = stagedSink(this.env, outPath);
    try {
      if (!options.format || options.format === format.name) {
        await format.write({ architecture, tensorBytes }, sink);
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

  async list(): Promise<ModelInfo[]> {
    return this.catalog.listModels();
  }

  async info(name: string): Promise<ModelDetails> {
    const model = await this.requireModel(name);
    return { ...model, tensors: await this.catalog.tensors(name) };
  }

  /** Removes a model from the catalog; its space comes back at the next `gc`. */
  async remove(name: string): Promise<void> {
    const removed = await this.catalog.write((tx) => tx.deleteModel(name));
    if (!removed) throw notFound(`no model named '${name}'`);
  }

  /** Reclaims the space of records no model references. */
  async gc(): Promise<GcResult> {
    return this.catalog.write(async () => {
      await this.engine.beginWrite();
      const live = await this.catalog.liveRecordKeys();
      try {
        return await this.engine.compact((k) => live.has(k));
      } catch (e) {
        await this.engine.abort();
        throw e;
      }
    });
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
    await this.engine.close();
    await this.catalog.close();
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
      if (name.startsWith('catalog.sqlite') || (await this.env.isDirectory(p))) continue;
      n += await this.env.fileSize(p).catch((e: unknown) => (e instanceof NeurStoreError && e.code === 'NOT_FOUND' ? 0 : Promise.reject(e)));
    }
    return n;
  }
}

/** Model names: 1-256 characters, no control characters, not starting with '-' (it would read as a flag). */
export function validateName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw invalidArgument('a model name must be 1 to 256 characters long');
  }
  if (/[\u0000-\u001f\u007f]/.test(name) || name.startsWith('-')) {
    throw invalidArgument(`model name '${name}' has control characters or starts with '-'`);
  }
}
