/**
 * One HNSW index per tensor shape (the paper indexes bases per shape, since only same-sized tensors can be
 * deltas of each other), plus transposed matching: a 2-D query [r,c] is also searched, transposed, in the
 * [c,r] index (and in its own index when square), so a re-export that stores `W^T` still finds `W`.
 * Ids are global across shapes; the router remembers each id's shape so `remove(id)` needs nothing else.
 */
import { invalidArgument } from '../errors.js';
import type { Quant8 } from '../codecs/quant8.js';
import { HnswIndex } from './hnsw-index.js';
import { checkSearchArgs, hnswParamsFor, type HnswOptions } from './hnsw-params.js';
import { transposeFloat32, transposeQuant8 } from './quant8-transpose.js';
import type { Quant8Query } from './quant8-l2-space.js';
import type { VectorAccessor, VectorSpace } from './vector-space.js';

/** A router hit: `transposed` means query element (i,j) was compared with base element (j,i). */
export interface RoutedHit {
  readonly id: number;
  readonly distance: number;
  readonly shapeKey: string;
  readonly transposed: boolean;
}

export interface ShapeRouterOptions {
  /** Overrides of the per-shape size schedule (M, efConstruction, efSearch, seed); default: none. */
  readonly hnsw?: HnswOptions;
  /** Also search transposed layouts of 2-D queries; default true. */
  readonly considerTransposed?: boolean;
}

/** "128x784" for [128, 784]; "scalar" for []. Throws INVALID_ARGUMENT on a negative or fractional dim. */
export function shapeKey(shape: readonly number[]): string {
  if (!Array.isArray(shape)) throw invalidArgument('shape must be an array of dimensions');
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalidArgument(`bad dimension ${d} in shape [${shape.join(', ')}]`);
  }
  return shape.length === 0 ? 'scalar' : shape.join('x');
}

/** Parses a shape key back into dims; throws INVALID_ARGUMENT on a malformed key. */
export function parseShapeKey(key: string): number[] {
  if (key === 'scalar') return [];
  const dims = key.split('x').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (dims.some((d) => !Number.isSafeInteger(d))) throw invalidArgument(`bad shape key "${key}"`);
  return dims;
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

type Index = HnswIndex<Quant8, Quant8Query>;

export class ShapeRouter {
  private readonly indexes = new Map<string, Index>();
  private readonly shapeOfId = new Map<number, string>();
  /** Whether transposed layouts are searched (see `ShapeRouterOptions`). */
  readonly considerTransposed: boolean;

  /** Keeps references to `space` and `accessor`, shared by every per-shape index. */
  constructor(
    readonly space: VectorSpace<Quant8, Quant8Query>,
    readonly accessor: VectorAccessor<Quant8>,
    readonly options: ShapeRouterOptions = {},
  ) {
    this.considerTransposed = options.considerTransposed ?? true;
  }

  /** Live ids over all shapes. */
  get size(): number {
    return this.shapeOfId.size;
  }

  /** Shape keys that have an index, sorted. */
  shapeKeys(): string[] {
    return [...this.indexes.keys()].sort();
  }

  /** The index of one shape, if any (for stats and the codec). */
  indexFor(key: string): Index | undefined {
    return this.indexes.get(key);
  }

  /** Installs a prebuilt index for `key` (used by the codec); replaces nothing silently. */
  adopt(key: string, index: Index): void {
    if (this.indexes.has(key)) throw invalidArgument(`shape ${key} already has an index`);
    for (const id of index.ids()) {
      if (this.shapeOfId.has(id)) throw invalidArgument(`id ${id} is in two shape indexes`);
      this.shapeOfId.set(id, key);
    }
    this.indexes.set(key, index);
  }

  has(id: number): boolean {
    return this.shapeOfId.has(id);
  }

  /** Adds `id` with its tensor's shape; throws INVALID_ARGUMENT if the element count differs or id exists. */
  insert(id: number, shape: readonly number[], vector: Quant8): void {
    const key = shapeKey(shape);
    this.space.checkVector(vector);
    if (elementCount(shape) !== vector.codes.length) {
      throw invalidArgument(`shape [${shape.join(', ')}] does not hold ${vector.codes.length} elements`);
    }
    if (this.shapeOfId.has(id)) throw invalidArgument(`id ${id} is already in the index`);
    let ix = this.indexes.get(key);
    if (!ix) {
      ix = new HnswIndex(this.space, this.accessor, hnswParamsFor(vector.codes.length, this.options.hnsw));
      this.indexes.set(key, ix);
    }
    ix.insert(id, vector);
    this.shapeOfId.set(id, key);
  }

  /** Removes `id` from its shape's index; false when absent. Empty indexes are dropped. */
  remove(id: number): boolean {
    const key = this.shapeOfId.get(id);
    if (key === undefined) return false;
    const ix = this.indexes.get(key)!;
    ix.remove(id);
    this.shapeOfId.delete(id);
    if (ix.size === 0) this.indexes.delete(key);
    return true;
  }

  /**
   * The `k` nearest ids over the query's own shape and, for 2-D queries, the transposed layout; each id
   * appears once (its best match). Throws INVALID_ARGUMENT if `shape` does not hold the query's elements.
   */
  search(shape: readonly number[], query: Quant8Query, k: number, ef?: number): RoutedHit[] {
    checkSearchArgs(k, ef);
    const key = shapeKey(shape);
    this.space.checkQuery(query);
    const n = query instanceof Float32Array ? query.length : query.codes.length;
    if (elementCount(shape) !== n) throw invalidArgument(`shape [${shape.join(', ')}] does not hold ${n} elements`);
    const hits: RoutedHit[] = [];
    const direct = this.indexes.get(key);
    if (direct) for (const h of direct.search(query, k, ef)) hits.push({ ...h, shapeKey: key, transposed: false });
    if (this.considerTransposed && shape.length === 2) {
      const [r, c] = shape as [number, number];
      const tKey = shapeKey([c, r]);
      const tIndex = this.indexes.get(tKey);
      if (tIndex) {
        const tq = query instanceof Float32Array ? transposeFloat32(query, r, c) : transposeQuant8(query, r, c);
        for (const h of tIndex.search(tq, k, ef)) hits.push({ ...h, shapeKey: tKey, transposed: true });
      }
    }
    return bestPerId(hits).slice(0, k);
  }
}

/** Sorts by (distance, id, direct before transposed) and keeps each id's best hit. Sorts `hits` in place. */
export function bestPerId(hits: RoutedHit[]): RoutedHit[] {
  hits.sort((a, b) => a.distance - b.distance || a.id - b.id || Number(a.transposed) - Number(b.transposed));
  const seen = new Set<number>();
  return hits.filter((h) => !seen.has(h.id) && seen.add(h.id));
}
