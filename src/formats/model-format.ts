/**
 * The contract every model format implements (safetensors, ONNX, TF.js, GGUF): split a model into its
 * architecture (everything that is not tensor bytes) and its tensors, and join them back.
 *
 * Formats are pure: they read through `ModelSource` and write through `ModelSink`, never the file system.
 * `read` must not load tensor bytes; each `TensorEntry.read()` fetches one tensor when the store asks,
 * so a model never has to fit in memory whole.
 */
import type { ByteSink, ByteSource } from './byte-source.js';
import type { DType } from './dtype.js';

export type FormatName = 'safetensors' | 'onnx' | 'tfjs' | 'gguf';

/** One tensor of a model. `name` is unique within the model. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** The tensor's bytes, little-endian, row-major, exactly `byteLength` of them. */
  read(): Promise<Uint8Array>;
  /**
   * `length` bytes of the tensor from `offset`: how the store reads a large tensor piece by piece, never whole.
   * Formats whose tensors lie in one range of a file provide it; without it the store calls `read()`. With
   * `into` (exactly `length` bytes, given up by the caller) the bytes may be read into it: the store recycles
   * its chunk buffers so.
   */
  readRange?(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
}

/** A model split in two. `tensors[i]` is the tensor that the architecture calls number `i`. */
export interface ModelLayout {
  readonly format: FormatName;
  /** Opaque to everyone but the format: with the tensors, enough to rebuild the model's files. */
  readonly architecture: Uint8Array;
  readonly tensors: readonly TensorEntry[];
}

/**
 * The files of one model as the user named them (one `.safetensors`, one `model.json`, one `.onnx`, or every
 * file of a directory), by base name. `open` also opens files those reference (TF.js shards, ONNX external
 * data), by their path relative to the directory of the first file; a missing one throws NOT_FOUND.
 */
export interface ModelSource {
  readonly files: readonly string[];
  open(file: string): Promise<ByteSource>;
}

/**
 * Where a format writes a model's files, by name. The first file created is the model's main file (it goes
 * where the user asked); later files land beside it under the names given (shards, external data).
 */
export interface ModelSink {
  create(file: string): Promise<ByteSink & { close(): Promise<void> }>;
}

/** What `write` needs: the architecture and, by index, each tensor's bytes. */
export interface StoredModel {
  readonly architecture: Uint8Array;
  tensorBytes(index: number): Promise<Uint8Array>;
  /**
   * Tensor `index`'s bytes in order, as pieces: writers that copy a tensor's bytes out whole use this (through
   * `writeTensorBytes`) so a large tensor streams through in bounded memory. Optional. With `reuse`, the caller
   * is done with each piece once it asks for the next one, so the piece's memory may be reused for a later one.
   */
  tensorPieces?(index: number, options?: { readonly reuse?: boolean }): AsyncIterable<Uint8Array>;
}

/**
 * Writes tensor `index` of `model` to `sink`, in pieces when the model offers them, and returns its byte count;
 * `check(n)` is called with the count before anything is written when known up front (to refuse a wrong size).
 */
export async function writeTensorBytes(model: StoredModel, index: number, sink: ByteSink): Promise<number> {
  if (!model.tensorPieces) {
    const bytes = await model.tensorBytes(index);
    if (bytes.length > 0) await sink.write(bytes);
    return bytes.length;
  }
  let n = 0;
  // A sink that is done with each piece once written lets the store reuse the piece's memory for the next.
  for await (const piece of model.tensorPieces(index, { reuse: sink.releasesBytes === true })) {
    await sink.write(piece);
    n += piece.length;
  }
  return n;
}

export interface ModelFormat {
  readonly name: FormatName;
  /** True when the source looks like this format, judged by content (magic bytes, JSON shape), not names. */
  detect(source: ModelSource): Promise<boolean>;
  /** Throws INVALID_ARGUMENT naming the problem when the model is malformed. */
  read(source: ModelSource): Promise<ModelLayout>;
  /** Writes the model back; byte-identical to what `read` saw unless the format's docs say otherwise. */
  write(model: StoredModel, sink: ModelSink): Promise<void>;
}
