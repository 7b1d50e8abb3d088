/**
 * The catalog contract: what the store knows about models (names, formats, tags, tensors and the record each
 * tensor's bytes live in). Each backend implements it (backend/sqlite/sqlite-catalog.ts, backend/postgres/), so
 * every method is async even where SQLite is not; writes go through `Backend.write` (backend/backend.ts).
 */

/**
 * How a tensor's bytes were stored when its model was put: `duplicate` (the record existed: exact dedup),
 * `raw`, `lossless` (byte planes + entropy coding), `lossless-delta` (XOR against a base first), `standalone`
 * (default mode, group-quantized alone: it can serve as a base), `delta` (default mode, against a base),
 * `paper-delta` (paper mode, against an existing 8-bit base), `paper-base` (paper mode, a new 8-bit base + residual).
 */
export type StoredAs =
  | 'duplicate' | 'raw' | 'lossless' | 'lossless-delta' | 'standalone' | 'delta' | 'paper-delta' | 'paper-base';

/** The codec of a tensor record (what `codec` in the payload says), for statistics and base lookups. */
export type CodecName = 'raw' | 'zstd' | 'lossless' | 'group-delta' | 'paper-delta' | 'chunked';

export interface TensorRow {
  /** Position of the tensor in its model's architecture. */
  readonly index: number;
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** Engine record holding the bytes. */
  readonly recordKey: bigint;
  readonly storedAs: StoredAs;
  readonly codec: CodecName;
  /** The record this one decodes against (another tensor, or a paper 8-bit base), if any. */
  readonly baseKey?: bigint;
  /** Length of the delta chain to decode it (0 when stored without a base). */
  readonly depth: number;
  /** Bytes this tensor added to the engine (0 for a duplicate). */
  readonly storedBytes: number;
  /** Bits per element of its record's encoding (8 x record bytes / elements). */
  readonly bits: number;
  /** Largest |original - stored| over its elements (0 when exact). */
  readonly maxError: number;
}

/** The dtypes `Catalog.baseCandidates` looks for when not told: float tensors, the bases of lossy deltas. */
export const FLOAT_BASE_DTYPES: readonly string[] = ['F32', 'F16', 'BF16'];

/** Compression mode a model was put with. */
export type Mode = 'lossless' | 'default' | 'paper';

export interface ModelRow {
  readonly name: string;
  readonly format: string;
  readonly createdMs: number;
  /** Size of the model's files as they were put. */
  readonly bytesIn: number;
  /** Base names of the model's files, main file first. */
  readonly files: readonly string[];
  readonly architectureKey: bigint;
  readonly mode: Mode;
  /** The error bound of a lossy mode (0 for lossless). */
  readonly tolerance: number;
  readonly tensorCount: number;
  /** Bytes the put added to the engine (records that were new). */
  readonly storedBytes: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
}

export interface CatalogTotals {
  readonly models: number;
  readonly tensors: number;
  readonly bytesIn: number;
  /** Distinct records referenced by tensors (tensors minus this is the number of exact-dedup hits). */
  readonly distinctTensorRecords: number;
}

/** Catalog writes, valid only inside `Backend.write` (backend/backend.ts), which owns the transaction and the lock. */
export interface CatalogTx {
  modelExists(name: string): Promise<boolean>;
  insertModel(model: ModelRow, tensors: readonly TensorRow[]): Promise<void>;
  /** False when no model has that name. */
  deleteModel(name: string): Promise<boolean>;
  /** Points every tensor stored in record `from` at record `to`, which holds the same exact content (self-healing). */
  repointRecord(from: bigint, to: bigint): Promise<number>;
}

/** A catalog row that fails its checksum (or damage SQLite itself found: `model` null). */
export interface CatalogDamage {
  readonly model: string | null;
  readonly message: string;
}

export interface Catalog {
  /** Rows are checked against their checksums: a damaged one is CORRUPTION naming the model, never wrong data. */
  getModel(name: string): Promise<ModelRow | undefined>;
  listModels(): Promise<ModelRow[]>;
  tensors(name: string): Promise<TensorRow[]>;
  /** Every model's name as stored, unchecked (for `verify`, which then checks each model). */
  modelNames(): Promise<string[]>;
  /** Every row checked; the damaged ones, for `repair` and `verify`. */
  check(): Promise<CatalogDamage[]>;
  /** Every engine record any model references (tensors, their bases and architectures); CORRUPTION on a damaged row. */
  liveRecordKeys(): Promise<Set<bigint>>;
  /**
   * Records of tensors of `shape` and one of `dtypes` (default `FLOAT_BASE_DTYPES`) whose delta chain is shorter
   * than `maxDepth`, stored with one of `codecs` (default raw, lossless, group-delta), and named `name` when
   * given: the bases a delta may use, the `limit` most recently stored first.
   */
  baseCandidates(
    shape: readonly number[], maxDepth: number, limit: number, dtypes?: readonly string[], codecs?: readonly CodecName[], name?: string,
  ): Promise<Array<{ key: bigint; dtype: string; depth: number }>>;
  /** The paper mode's 8-bit base records of tensors of `shape`. */
  paperBasesOfShape(shape: readonly number[]): Promise<bigint[]>;
  /** A tensor (model and name) stored in record `key`, to name a base in `info`. */
  tensorOfRecord(key: bigint): Promise<{ model: string; tensor: string } | undefined>;
  totals(): Promise<CatalogTotals>;
  /** Bytes the catalog occupies on disk. */
  diskBytes(): Promise<number>;
  close(): Promise<void>;
}
