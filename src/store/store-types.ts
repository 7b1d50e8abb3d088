/** Public types of the store API (what `put`, `info`, `stats`... return). */
import type { Mode, ModelRow, TensorRow } from '../catalog/catalog.js';

export type { Mode };
import type { LoadMode } from '../runtime/load-forms.js';
import type { OnnxSessionOptions } from '../runtime/onnx-session.js';

/**
 * The error bound of the lossy modes when none is given: max |x - x'| per element. Chosen from measurements
 * (README, "Tolerance sweep"): on the MNIST family it costs at most 0.05 accuracy points where 3e-3 costs up to
 * 0.5 on the tinygrad checkpoints; face-api face_expression agrees on 16/16 images. Models whose first layer
 * multiplies large inputs (faceres-deep, 0-255 pixels) need a smaller bound: sweep before choosing.
 */
export const DEFAULT_TOLERANCE = 1e-3;
import type { FormatName } from '../formats/model-format.js';

/** Called as work advances; `done` and `total` count bytes. */
export interface Progress {
  readonly phase: 'put' | 'get' | 'gc' | 'load' | 'verify';
  readonly done: number;
  readonly total: number;
}
export type ProgressFn = (p: Progress) => void;

export interface PutOptions {
  /** Name of the model in the store; CONFLICT if taken. */
  name: string;
  tags?: Record<string, string>;
  /** Skip detection and read the input as this format. */
  format?: FormatName;
  /**
   * `lossless` (bit-exact; the default when no tolerance is given), `default` (our error-bounded codec; the
   * default when a tolerance is given) or `paper` (the published algorithm, a baseline).
   */
  mode?: Mode;
  /** Bound on |x - x'| of every element in the lossy modes (default DEFAULT_TOLERANCE). */
  tolerance?: number;
  /** Encode everything and report sizes and errors, but store nothing. */
  dryRun?: boolean;
  /**
   * How hard lossless coding works: 'default' (fast coders chosen per byte plane) or 'max' (every coder on every
   * plane, the smallest kept: about 1% smaller, several times slower to put and to read).
   */
  effort?: 'default' | 'max';
  /** Seed of the paper mode's random choice of new bases (default 42). */
  seed?: number;
  onProgress?: ProgressFn;
  /** Stops the put: nothing of it is listed, its records are cut off (or left for `gc`); CANCELLED. */
  signal?: AbortSignal;
}

export interface GetOptions {
  /** Write the model's tensors in this format instead of its own (see model-export.ts for what converts). */
  format?: FormatName;
  onProgress?: ProgressFn;
  /**
   * Stops the get (`write`) between tensors and chunks: CANCELLED; `get` removes its staged files, so nothing is
   * left at the output path. A sink given to `write` keeps what it was handed so far (it is the caller's).
   */
  signal?: AbortSignal;
  /**
   * Also check every chunk of a large tensor against its SHA-256 as it decodes (costs about as much as
   * decoding). Without it, every record is checked against its CRC as it is read, and each chunked tensor's
   * chunks against its hash tree; smaller tensors are always checked against their SHA-256.
   */
  verify?: boolean;
  /**
   * `get` only: fsync the written files (and their directory) before returning. Without it they are moved into
   * place whole but left in the page cache, as cp and zstd leave theirs: the store's data is durable either
   * way, and an fsync bounds a get by the disk's write speed (242 MB/s here vs 946 MB/s to the page cache).
   */
  sync?: boolean;
}

export interface GcOptions {
  /** Called as the live records are walked: `done` records checked of `total` found live so far. */
  onProgress?: ProgressFn;
  /**
   * Stops the gc before its exclusive write begins, while it walks the live records, or before it reclaims:
   * CANCELLED, nothing reclaimed. Reclaiming itself is not interrupted (a crash there is what the backend covers).
   */
  signal?: AbortSignal;
}

export type ModelInfo = ModelRow;

export interface ModelDetails extends ModelInfo {
  readonly tensors: readonly TensorRow[];
  /** Largest error over all tensors (0 for lossless). */
  readonly maxError: number;
}

/** What `put` did: the model and every tensor's encoding; `dryRun` when nothing was stored. */
export interface PutResult extends ModelDetails {
  readonly dryRun: boolean;
  /** Approximate memory of the similarity indexes the put used (sketches, graphs, 8-bit bases). */
  readonly indexMemoryBytes: number;
}

export interface StoreStats {
  readonly models: number;
  readonly tensors: number;
  /** Bytes of all models' files as they were put. */
  readonly bytesIn: number;
  /** Everything the store occupies: records and catalog (a directory's segments, manifest and catalog). */
  readonly bytesOnDisk: number;
  /** bytesIn / bytesOnDisk. */
  readonly ratio: number;
  /** Tensors whose bytes were already stored (tensors minus distinct tensor records). */
  readonly dedupHits: number;
  readonly records: number;
  /** Bytes the records occupy (the segment files of a directory store, the page table of a database). */
  readonly recordBytes: number;
  /** The same as `recordBytes` (its name from when every store was a directory of segments). */
  readonly segmentBytes: number;
  readonly catalogBytes: number;
}

export interface GcResult {
  /** Records no model needed, deleted. */
  readonly recordsDropped: number;
  readonly bytesReclaimed: number;
}

/** Float tensors smaller than this stay float in 8-bit ONNX sessions (biases, norms: nothing to gain). */
export const QDQ_MIN_ELEMENTS = 64;

export interface OnnxSessionLoadOptions {
  /** Default 'fp32'. */
  readonly mode?: LoadMode;
  /** Error bound of int8+delta (default: the model's tolerance, else DEFAULT_TOLERANCE). */
  readonly tolerance?: number;
  /** Passed to onnxruntime-node's InferenceSession.create. */
  readonly session?: OnnxSessionOptions;
}
