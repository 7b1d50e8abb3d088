/**
 * The candidate index of the `default` mode: an HNSW graph over 8-bit sketches of tensors of one shape (see
 * `TensorSketcher`), owning the sketches (<= 1 KiB each) so the full bases can stay on disk. Sketch distance
 * only approximates tensor distance, so callers ask for a few candidates and re-rank them by exact distance
 * (`search`), reading only those few bases. `SketchRouter` keeps one per shape.
 */
import { invalidArgument } from '../errors.js';
import type { Quant8 } from '../codecs/quant8.js';
import { HnswIndex } from './hnsw-index.js';
import { checkSearchArgs, hnswParamsFor, type HnswOptions } from './hnsw-params.js';
import { Quant8L2Space } from './quant8-l2-space.js';
import type { TensorSketcher } from './tensor-sketcher.js';
import type { SearchHit } from './vector-space.js';

export class SketchIndex {
  private readonly sketches = new Map<number, Quant8>();
  private readonly space = new Quant8L2Space();
  private graph: HnswIndex<Quant8, Quant8>;
  private elements: number | undefined;

  /**
   * Reassembles an index from persisted parts (used by the codec): `sketches` becomes owned, and
   * `makeGraph` receives the accessor over them.
   */
  static fromParts(
    sketcher: TensorSketcher,
    elements: number | undefined,
    sketches: Map<number, Quant8>,
    makeGraph: (accessor: (id: number) => Quant8) => HnswIndex<Quant8, Quant8>,
  ): SketchIndex {
    const ix = new SketchIndex(sketcher);
    for (const [id, s] of sketches) ix.sketches.set(id, s);
    ix.graph = makeGraph((id) => ix.sketches.get(id)!);
    ix.elements = elements;
    return ix;
  }

  /** Element count of the indexed tensors, undefined before the first insert. */
  get tensorElements(): number | undefined {
    return this.elements;
  }

  /** The graph over sketches (for the codec and stats). */
  get sketchGraph(): HnswIndex<Quant8, Quant8> {
    return this.graph;
  }

  /** The owned sketch of `id`, if present. */
  sketchOf(id: number): Quant8 | undefined {
    return this.sketches.get(id);
  }

  /**
   * `sketcher` fixes seed and sketch size (shared by inserts and queries); `hnsw` overrides the schedule,
   * which is chosen by sketch length (sketches are small, so graphs are rich).
   */
  constructor(
    readonly sketcher: TensorSketcher,
    hnsw: HnswOptions = {},
  ) {
    const get = (id: number): Quant8 => this.sketches.get(id)!;
    this.graph = new HnswIndex(this.space, get, hnswParamsFor(sketcher.dims, hnsw));
  }

  get size(): number {
    return this.sketches.size;
  }

  has(id: number): boolean {
    return this.sketches.has(id);
  }

  /** Sketches `tensor` and indexes it; INVALID_ARGUMENT on a duplicate id or an element count mismatch. */
  insert(id: number, tensor: Float32Array): void {
    this.checkElements(tensor.length);
    if (this.sketches.has(id)) throw invalidArgument(`id ${id} is already in the index`);
    const s = this.sketcher.sketchQuant8(tensor);
    this.sketches.set(id, s);
    try {
      this.graph.insert(id, s);
    } catch (e) {
      this.sketches.delete(id);
      throw e;
    }
    this.elements = tensor.length;
  }

  remove(id: number): boolean {
    if (!this.graph.remove(id)) return false;
    this.sketches.delete(id);
    return true;
  }

  /** The `count` nearest ids by sketch distance (ascending); a superset to re-rank. */
  candidates(tensor: Float32Array, count: number, ef?: number): SearchHit[] {
    checkSearchArgs(count, ef);
    if (this.sketches.size === 0) return [];
    this.checkElements(tensor.length);
    return this.graph.search(this.sketcher.sketchQuant8(tensor), count, ef);
  }

  /**
   * Sketch search for `candidates` ids, then exact re-ranking with `exactDistance(id)` (called once per
   * candidate); returns the best `k`, ascending by (exact distance, id).
   */
  search(tensor: Float32Array, k: number, candidates: number, exactDistance: (id: number) => number): SearchHit[] {
    checkSearchArgs(k);
    if (!Number.isSafeInteger(candidates) || candidates < 1) {
      throw invalidArgument(`candidates must be a positive integer, got ${candidates}`);
    }
    const found = this.candidates(tensor, Math.max(k, candidates));
    const exact = found.map((h) => ({ id: h.id, distance: exactDistance(h.id) }));
    exact.sort((a, b) => a.distance - b.distance || a.id - b.id);
    return exact.slice(0, k);
  }

  /** Approximate bytes held: sketches plus graph. */
  memoryBytes(): number {
    let bytes = this.graph.memoryBytes();
    for (const s of this.sketches.values()) bytes += s.codes.byteLength + 16;
    return bytes;
  }

  private checkElements(n: number): void {
    if (this.elements !== undefined && n !== this.elements) {
      throw invalidArgument(`tensor has ${n} elements but this sketch index holds tensors of ${this.elements}`);
    }
  }
}
