/**
 * The per-shape bookkeeping shared by `ShapeRouter` (HNSW over quantized bases) and `SketchRouter` (sketch
 * graphs): one index per tensor shape, a global id -> shape map so `remove(id)` needs nothing else, and the
 * direct-plus-transposed routing of a 2-D query [r,c] (its own index, then the [c,r] index with the query
 * transposed). Only same-shaped tensors can be deltas of each other, hence one index per shape.
 */
import { invalidArgument } from '../errors.js';
import type { SearchHit } from './vector-space.js';

/** A router hit: `transposed` means query element (i,j) was compared with base element (j,i). */
export interface RoutedHit {
  readonly id: number;
  readonly distance: number;
  readonly shapeKey: string;
  readonly transposed: boolean;
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

/** The shape key of `shape`; INVALID_ARGUMENT unless the shape holds exactly `elements` elements. */
export function checkedShapeKey(shape: readonly number[], elements: number): string {
  const key = shapeKey(shape);
  if (shape.reduce((a, b) => a * b, 1) !== elements) {
    throw invalidArgument(`shape [${shape.join(', ')}] does not hold ${elements} elements`);
  }
  return key;
}

/** Sorts by (distance, id, direct before transposed) and keeps each id's best hit. Sorts `hits` in place. */
export function bestPerId(hits: RoutedHit[]): RoutedHit[] {
  hits.sort((a, b) => a.distance - b.distance || a.id - b.id || Number(a.transposed) - Number(b.transposed));
  const seen = new Set<number>();
  return hits.filter((h) => !seen.has(h.id) && seen.add(h.id));
}

/** What the table needs of a per-shape index. */
export interface ShapeIndex {
  readonly size: number;
  remove(id: number): unknown;
}

/** Per-shape indexes with global ids; the routers own one and add their own insert/search rules. */
export class ShapeTable<I extends ShapeIndex> {
  private readonly indexes = new Map<string, I>();
  private readonly shapeOfId = new Map<number, string>();

  /** Live ids over all shapes. */
  get size(): number {
    return this.shapeOfId.size;
  }

  /** Shape keys that have an index, sorted. */
  shapeKeys(): string[] {
    return [...this.indexes.keys()].sort();
  }

  /** The index of one shape, if any. */
  get(key: string): I | undefined {
    return this.indexes.get(key);
  }

  has(id: number): boolean {
    return this.shapeOfId.has(id);
  }

  /** Installs a prebuilt index holding `ids` for `key`; INVALID_ARGUMENT if the key or an id is taken. */
  adopt(key: string, index: I, ids: Iterable<number>): void {
    if (this.indexes.has(key)) throw invalidArgument(`shape ${key} already has an index`);
    for (const id of ids) {
      if (this.shapeOfId.has(id)) throw invalidArgument(`id ${id} is in two shape indexes`);
      this.shapeOfId.set(id, key);
    }
    this.indexes.set(key, index);
  }

  /**
   * Adds `id` under `key` through `add`, creating the shape's index with `create` on first use.
   * INVALID_ARGUMENT (before anything changes) if `id` is already present.
   */
  insert(id: number, key: string, create: () => I, add: (index: I) => void): void {
    if (this.shapeOfId.has(id)) throw invalidArgument(`id ${id} is already in the index`);
    let ix = this.indexes.get(key);
    if (!ix) {
      ix = create();
      this.indexes.set(key, ix);
    }
    add(ix);
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
   * Hits of the query's own shape (`direct`) and, when `transposed` and the shape is 2-D [r,c], of the [c,r]
   * index (`flipped`, which transposes the query itself); best hit per id first, unsliced.
   */
  route(
    shape: readonly number[],
    transposed: boolean,
    direct: (index: I) => readonly SearchHit[],
    flipped: (index: I, rows: number, cols: number) => readonly SearchHit[],
  ): RoutedHit[] {
    const key = shapeKey(shape);
    const hits: RoutedHit[] = [];
    const own = this.indexes.get(key);
    if (own) for (const h of direct(own)) hits.push({ ...h, shapeKey: key, transposed: false });
    if (transposed && shape.length === 2) {
      const [r, c] = shape as [number, number];
      const tKey = shapeKey([c, r]);
      const tIndex = this.indexes.get(tKey);
      if (tIndex) for (const h of flipped(tIndex, r, c)) hits.push({ ...h, shapeKey: tKey, transposed: true });
    }
    return bestPerId(hits);
  }
}
