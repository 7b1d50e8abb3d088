/** Public types of the store API (what `put`, `info`, `stats`... return). */
import type { ModelRow, TensorRow } from '../catalog/catalog.js';
import type { FormatName } from '../formats/model-format.js';

/** Called as work advances; `done` and `total` count bytes. */
export type ProgressFn = (p: { phase: 'put' | 'get' | 'gc'; done: number; total: number }) => void;

export interface PutOptions {
  /** Name of the model in the store; CONFLICT if taken. */
  name: string;
  tags?: Record<string, string>;
  /** Skip detection and read the input as this format. */
  format?: FormatName;
  onProgress?: ProgressFn;
}

export interface GetOptions {
  /** Write the model's tensors in this format instead of its own (see model-export.ts for what converts). */
  format?: FormatName;
  onProgress?: ProgressFn;
}

export type ModelInfo = ModelRow;

export interface ModelDetails extends ModelInfo {
  readonly tensors: readonly TensorRow[];
}

export interface StoreStats {
  readonly models: number;
  readonly tensors: number;
  /** Bytes of all models' files as they were put. */
  readonly bytesIn: number;
  /** Everything the store occupies on disk: segments, manifest, catalog. */
  readonly bytesOnDisk: number;
  /** bytesIn / bytesOnDisk. */
  readonly ratio: number;
  /** Tensors whose bytes were already stored (tensors minus distinct tensor records). */
  readonly dedupHits: number;
  readonly records: number;
  readonly segmentBytes: number;
  readonly catalogBytes: number;
}

export interface GcResult {
  readonly segmentsRewritten: number;
  readonly bytesReclaimed: number;
}
