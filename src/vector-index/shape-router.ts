/**
 * One HNSW index per tensor shape (the paper indexes bases per shape, since only same-sized tensors can be
 * deltas of each other), plus transposed matching: a 2-D query [r,c] is also searched, transposed, in the
 * [c,r] index (and in its own index when square), so a re-export that stores `W^T` still finds `W`.
 * Ids are global across shapes; the bookkeeping and routing live in `ShapeTable`, shared with SketchRouter.
 */
import type { Quant8 } from '../codecs/quant8.js';
import { HnswIndex } from './hnsw-index.js';
import { checkSearchArgs, hnswParamsFor, type HnswOptions } from './hnsw-params.js';
import { transposeFloat32, transposeQuant8 } from './quant8-transpose.js';
import type { Quant8Query } from './quant8-l2-space.js';
import { checkedShapeKey, shapeKey, ShapeTable, type RoutedHit } from './shape-table.js';
import type { VectorAccessor, VectorSpace } from './vector-space.js';

// The shape helpers moved to shape-table.ts; re-exported so existing imports keep working.
export { bestPerId, parseShapeKey, shapeKey, type RoutedHit } from './shape-table.js';

export interface ShapeRouterOptions {
  /** Overrides of the per-shape size schedule (M, efConstruction, efSearch, seed); default: none. */
  readonly hnsw?: HnswOptions;
  /** Also search transposed layouts of 2-D queries; default true. */
  readonly considerTransposed?: boolean;
}

type Index = HnswIndex<Quant8, Quant8Query>;

export class ShapeRouter {
  private readonly table = new ShapeTable<Index>();
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
    return this.table.size;
  }

  /** Shape keys that have an index, sorted. */
  shapeKeys(): string[] {
    return this.table.shapeKeys();
  }

  /** The index of one shape, if any (for stats and the codec). */
  indexFor(key: string): Index | undefined {
    return this.table.get(key);
  }

  /** Installs a prebuilt index for `key` (used by the codec); replaces nothing silently. */
  adopt(key: string, index: Index): void {
    this.table.adopt(key, index, index.ids());
  }

  has(id: number): boolean {
    return this.table.has(id);
  }

  /** Adds `id` with its tensor's shape; throws INVALID_ARGUMENT if the element count differs or id exists. */
  insert(id: number, shape: readonly number[], vector: Quant8): void {
    shapeKey(shape); // a malformed shape is reported before the vector is looked at
    this.space.checkVector(vector);
    const key = checkedShapeKey(shape, vector.codes.length);
    const create = () => new HnswIndex(this.space, this.accessor, hnswParamsFor(vector.codes.length, this.options.hnsw));
    this.table.insert(id, key, create, (ix) => ix.insert(id, vector));
  }

  /** Removes `id` from its shape's index; false when absent. Empty indexes are dropped. */
  remove(id: number): boolean {
    return this.table.remove(id);
  }

  /**
   * The `k` nearest ids over the query's own shape and, for 2-D queries, the transposed layout; each id
   * appears once (its best match). Throws INVALID_ARGUMENT if `shape` does not hold the query's elements.
   */
  search(shape: readonly number[], query: Quant8Query, k: number, ef?: number): RoutedHit[] {
    checkSearchArgs(k, ef);
    shapeKey(shape);
    this.space.checkQuery(query);
    checkedShapeKey(shape, query instanceof Float32Array ? query.length : query.codes.length);
    const flip = (r: number, c: number) => (query instanceof Float32Array ? transposeFloat32(query, r, c) : transposeQuant8(query, r, c));
    const hits = this.table.route(shape, this.considerTransposed, (ix) => ix.search(query, k, ef), (ix, r, c) => ix.search(flip(r, c), k, ef));
    return hits.slice(0, k);
  }
}
