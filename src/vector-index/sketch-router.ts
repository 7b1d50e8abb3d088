/**
 * The `default` mode's counterpart of `ShapeRouter`: one `SketchIndex` per tensor shape, with transposed
 * layouts of 2-D tensors considered (the query is transposed before it is sketched, so element (i,j) of the
 * query meets element (j,i) of the base). Candidates come from sketches; `search` re-ranks them by an exact
 * distance the caller computes from the full bases it keeps.
 */
import { invalidArgument } from '../errors.js';
import { checkSearchArgs, type HnswOptions } from './hnsw-params.js';
import { transposeFloat32 } from './quant8-transpose.js';
import { bestPerId, checkedShapeKey, shapeKey, ShapeTable, type RoutedHit } from './shape-table.js';
import { SketchIndex } from './sketch-index.js';
import type { TensorSketcher } from './tensor-sketcher.js';

export interface SketchRouterOptions {
  /** Overrides of the HNSW schedule for every per-shape sketch graph. */
  readonly hnsw?: HnswOptions;
  /** Also search transposed layouts of 2-D queries; default true. */
  readonly considerTransposed?: boolean;
}

/** Exact distance between the query (transposed first when `transposed`) and the full base `id`. */
export type ExactDistance = (id: number, transposed: boolean) => number;

export class SketchRouter {
  private readonly table = new ShapeTable<SketchIndex>();
  readonly considerTransposed: boolean;

  /** `sketcher` is shared by every shape, so one seed describes the whole router. */
  constructor(
    readonly sketcher: TensorSketcher,
    readonly options: SketchRouterOptions = {},
  ) {
    this.considerTransposed = options.considerTransposed ?? true;
  }

  get size(): number {
    return this.table.size;
  }

  shapeKeys(): string[] {
    return this.table.shapeKeys();
  }

  indexFor(key: string): SketchIndex | undefined {
    return this.table.get(key);
  }

  /** Installs a decoded index for `key` (used by the codec). */
  adopt(key: string, index: SketchIndex): void {
    this.table.adopt(key, index, index.sketchGraph.ids());
  }

  has(id: number): boolean {
    return this.table.has(id);
  }

  /** Sketches and indexes `tensor` under its shape; INVALID_ARGUMENT on a shape/length mismatch or duplicate. */
  insert(id: number, shape: readonly number[], tensor: Float32Array): void {
    const key = this.checkShape(shape, tensor);
    this.table.insert(id, key, () => new SketchIndex(this.sketcher, this.options.hnsw), (ix) => ix.insert(id, tensor));
  }

  remove(id: number): boolean {
    return this.table.remove(id);
  }

  /** Up to `count` candidates per layout by sketch distance, best per id first. */
  candidates(shape: readonly number[], tensor: Float32Array, count: number, ef?: number): RoutedHit[] {
    checkSearchArgs(count, ef);
    this.checkShape(shape, tensor);
    return this.table.route(
      shape,
      this.considerTransposed,
      (ix) => ix.candidates(tensor, count, ef),
      (ix, r, c) => ix.candidates(transposeFloat32(tensor, r, c), count, ef),
    );
  }

  /** Sketch candidates re-ranked by `exactDistance` (called once per candidate); best `k` by exact distance. */
  search(
    shape: readonly number[],
    tensor: Float32Array,
    k: number,
    candidates: number,
    exactDistance: ExactDistance,
  ): RoutedHit[] {
    checkSearchArgs(k);
    if (!Number.isSafeInteger(candidates) || candidates < 1) {
      throw invalidArgument(`candidates must be a positive integer, got ${candidates}`);
    }
    const found = this.candidates(shape, tensor, Math.max(k, candidates));
    return bestPerId(found.map((h) => ({ ...h, distance: exactDistance(h.id, h.transposed) }))).slice(0, k);
  }

  private checkShape(shape: readonly number[], tensor: Float32Array): string {
    shapeKey(shape); // a malformed shape is reported before the tensor is looked at
    if (!(tensor instanceof Float32Array)) throw invalidArgument('tensor must be a Float32Array');
    return checkedShapeKey(shape, tensor.length);
  }
}
