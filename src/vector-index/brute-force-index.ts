/**
 * Exact nearest-neighbour search by scanning every id: the recall oracle for `HnswIndex` (as hnswlib's
 * `bruteforce.h` is for its graph), and the right index for shapes with only a handful of bases.
 */
import { invalidArgument, notFound } from '../errors.js';
import { checkId, checkSearchArgs } from './hnsw-params.js';
import type { SearchHit, VectorAccessor, VectorIndex, VectorSpace } from './vector-space.js';

export class BruteForceIndex<V, Q = V> implements VectorIndex<V, Q> {
  private readonly members = new Set<number>();
  private dim: number | undefined;

  /** Keeps references to `space` and `accessor`; vectors are read through the accessor on every search. */
  constructor(
    private readonly space: VectorSpace<V, Q>,
    private readonly accessor: VectorAccessor<V>,
  ) {}

  /** Rebuilds an index from ids already validated by the codec. */
  static fromIds<V, Q>(
    space: VectorSpace<V, Q>,
    accessor: VectorAccessor<V>,
    ids: number[],
    dim: number | undefined,
  ): BruteForceIndex<V, Q> {
    const ix = new BruteForceIndex(space, accessor);
    for (const id of ids) ix.members.add(id);
    ix.dim = dim;
    return ix;
  }

  get size(): number {
    return this.members.size;
  }

  get dimension(): number | undefined {
    return this.dim;
  }

  has(id: number): boolean {
    return this.members.has(id);
  }

  ids(): number[] {
    return [...this.members].sort((a, b) => a - b);
  }

  /** Throws INVALID_ARGUMENT for a bad or duplicate id or a length differing from earlier vectors. */
  insert(id: number, vector: V): void {
    checkId(id);
    if (this.members.has(id)) throw invalidArgument(`id ${id} is already in the index`);
    this.space.checkVector(vector);
    const n = this.space.lengthOf(vector);
    if (this.dim !== undefined && n !== this.dim) {
      throw invalidArgument(`vector has ${n} elements but this index holds vectors of ${this.dim}`);
    }
    this.dim = n;
    this.members.add(id);
  }

  /** Exact `k` nearest, ascending by (distance, id); `ef` is accepted for interface parity and ignored. */
  search(query: Q, k: number, ef?: number): SearchHit[] {
    checkSearchArgs(k, ef);
    if (this.members.size === 0) return [];
    this.space.checkQuery(query);
    const n = this.space.queryLengthOf(query);
    if (n !== this.dim) throw invalidArgument(`query has ${n} elements but this index holds vectors of ${this.dim}`);
    const hits: SearchHit[] = [];
    for (const id of this.members) {
      const v = this.accessor(id);
      if (v === undefined || v === null) throw notFound(`the accessor has no vector for id ${id}`);
      hits.push({ id, distance: this.space.queryDistance(query, v) });
    }
    hits.sort((a, b) => a.distance - b.distance || a.id - b.id);
    return hits.slice(0, k);
  }

  remove(id: number): boolean {
    return this.members.delete(id);
  }
}
