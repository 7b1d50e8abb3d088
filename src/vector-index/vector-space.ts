/**
 * The distance seam of the vector index, kept apart from the graph algorithm (as hnswlib keeps its spaces
 * apart from `HierarchicalNSW`): the index only ever asks a space for distances, so the plain-TS loops here
 * can be swapped for wasm kernels without touching HNSW, brute force or the router.
 */

/**
 * A distance over stored vectors `V`, and from queries `Q` to stored vectors. Distances are non-negative,
 * smaller is closer, and `distance(a, a) === 0`.
 */
export interface VectorSpace<V, Q = V> {
  /** Short name written into persisted indexes so a blob is never reopened with another space. */
  readonly name: string;
  /** Throws INVALID_ARGUMENT when `v` cannot be measured (wrong type, non-finite values); O(1) preferred. */
  checkVector(v: V): void;
  /** Throws INVALID_ARGUMENT when `q` cannot be measured; called once per search, so O(length) is fine. */
  checkQuery(q: Q): void;
  /** Number of elements of a stored vector. */
  lengthOf(v: V): number;
  /** Number of elements of a query. */
  queryLengthOf(q: Q): number;
  /** Distance between two stored vectors (used while building the graph). */
  distance(a: V, b: V): number;
  /** Distance from a query to a stored vector (used while searching). */
  queryDistance(q: Q, v: V): number;
}

/** Resolves an id to its stored vector; the index holds ids only and may call this during search. */
export type VectorAccessor<V> = (id: number) => V;

/** One search result: the stored id and its distance to the query. */
export interface SearchHit {
  readonly id: number;
  readonly distance: number;
}

/** What HNSW and brute force both offer, so tests and the router treat them alike. */
export interface VectorIndex<V, Q = V> {
  /** Number of live (not removed) vectors. */
  readonly size: number;
  /** Element count every vector of this index must have, or undefined before the first insert. */
  readonly dimension: number | undefined;
  has(id: number): boolean;
  /** Adds `id`; the accessor must already return `vector` for `id` (it is read through it later). */
  insert(id: number, vector: V): void;
  /** The `k` nearest live ids, ascending by (distance, id). */
  search(query: Q, k: number, ef?: number): SearchHit[];
  /** Removes `id`; returns false when it was not present. The accessor is never called for it again. */
  remove(id: number): boolean;
  /** Live ids, ascending. */
  ids(): number[];
}
