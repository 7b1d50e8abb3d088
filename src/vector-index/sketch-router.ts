/**
 * The `default` mode's counterpart of `ShapeRouter`: one `SketchIndex` per tensor shape, with transposed
 * layouts of 2-D tensors considered (the query is transposed before it is sketched, so element (i,j) of the
 * query meets element (j,i) of the base). Candidates come from sketches; `search` re-ranks them by an exact
 * distance the caller computes from the full bases it keeps.
 */
import { invalidArgument } from '../errors.js';
import { checkSearchArgs, type HnswOptions } from './hnsw-params.js';
import { transposeFloat32 } from './quant8-transpose.js';
import { bestPerId, shapeKey, type RoutedHit } from './shape-router.js';
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
  private readonly indexes = new Map<string, SketchIndex>();
  private readonly shapeOfId = new Map<number, string>();
  readonly considerTransposed: boolean;

  /** `sketcher` is shared by every shape, so one seed describes the whole router. */
  constructor(
    readonly sketcher: TensorSketcher,
    readonly options: SketchRouterOptions = {},
  ) {
    this.considerTransposed = options.considerTransposed ?? true;
  }

  get size(): number {
    return this.shapeOfId.size;
  }

  shapeKeys(): string[] {
    return [...this.indexes.keys()].sort();
  }

  indexFor(key: string): SketchIndex | undefined {
    return this.indexes.get(key);
  }

  /** Installs a decoded index for `key` (used by the codec). */
  adopt(key: string, index: SketchIndex): void {
    if (this.indexes.has(key)) throw invalidArgument(`shape ${key} already has an index`);
    for (const id of index.sketchGraph.ids()) {
      if (this.shapeOfId.has(id)) throw invalidArgument(`id ${id} is in two shape indexes`);
      this.shapeOfId.set(id, key);
    }
    this.indexes.set(key, index);
  }

  has(id: number): boolean {
    return this.shapeOfId.has(id);
  }

  /** Sketches and indexes `tensor` under its shape; INVALID_ARGUMENT on a shape/length mismatch or duplicate. */
  insert(id: number, shape: readonly number[], tensor: Float32Array): void {
    const key = this.checkShape(shape, tensor);
    if (this.shapeOfId.has(id)) throw invalidArgument(`id ${id} is already in the index`);
    let ix = this.indexes.get(key);
    if (!ix) {
      ix = new SketchIndex(this.sketcher, this.options.hnsw);
      this.indexes.set(key, ix);
    }
    ix.insert(id, tensor);
    this.shapeOfId.set(id, key);
  }

  remove(id: number): boolean {
    const key = this.shapeOfId.get(id);
    if (key === undefined) return false;
    const ix = this.indexes.get(key)!;
    ix.remove(id);
    this.shapeOfId.delete(id);
    if (ix.size === 0) this.indexes.delete(key);
    return true;
  }

  /** Up to `count` candidates per layout by sketch distance, best per id first. */
  candidates(shape: readonly number[], tensor: Float32Array, count: number, ef?: number): RoutedHit[] {
    checkSearchArgs(count, ef);
    const key = this.checkShape(shape, tensor);
    const hits: RoutedHit[] = [];
    const direct = this.indexes.get(key)?.candidates(tensor, count, ef) ?? [];
    for (const h of direct) hits.push({ ...h, shapeKey: key, transposed: false });
    if (this.considerTransposed && shape.length === 2) {
      const [r, c] = shape as [number, number];
      const tKey = shapeKey([c, r]);
      const tIndex = this.indexes.get(tKey);
      const found = tIndex?.candidates(transposeFloat32(tensor, r, c), count, ef) ?? [];
      for (const h of found) hits.push({ ...h, shapeKey: tKey, transposed: true });
    }
    return bestPerId(hits);
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
    const key = shapeKey(shape);
    if (!(tensor instanceof Float32Array)) throw invalidArgument('tensor must be a Float32Array');
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== tensor.length) {
      throw invalidArgument(`shape [${shape.join(', ')}] does not hold ${tensor.length} elements`);
    }
    return key;
  }
}
