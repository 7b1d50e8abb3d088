/**
 * Hierarchical Navigable Small World graph (Malkov & Yashunin) over ids whose vectors live elsewhere: the
 * index stores only ids and links and reads vectors through a `VectorAccessor`, so the store can keep bases
 * on disk and page them in. Distances come from a `VectorSpace`. Levels are drawn from a seeded generator, so
 * the same inserts in the same order build the same graph.
 *
 * Removal unlinks the node for real and repairs the graph: each in-neighbour re-selects its links from
 * its old links plus the removed node's, and any node the entry point can no longer reach (after an insert
 * or a removal) is re-attached; this costs an O(nodes) walk per call, small next to the distances.
 * Tombstones (hnswlib's markDelete) were rejected because a removed base's vector may no longer be
 * readable through the accessor.
 *
 * Known limit: a plateau of more than `ef` exactly identical vectors can trap a beam search (all at one
 * distance). Exact duplicates are capped at half of each link list and ties are hashed, which keeps small
 * groups searchable; the store dedups identical tensors by content hash before they reach the index.
 */
import { invalidArgument, notFound } from '../errors.js';
import { denseGraph, reachableSlots, type HnswNode, type HnswState } from './hnsw-graph.js';
import { selectNeighbours } from './hnsw-heuristic.js';
import { PairHeap } from './min-heap.js';
import { checkId, checkSearchArgs, validateParams, type HnswParams } from './hnsw-params.js';
import { SeededRandom } from '../env/seeded-random.js';
import { VisitedMarks } from './visited-marks.js';
import type { SearchHit, VectorAccessor, VectorIndex, VectorSpace } from './vector-space.js';

export type { HnswNode, HnswState } from './hnsw-graph.js';

type Dist = (slot: number) => number;

export class HnswIndex<V, Q = V> implements VectorIndex<V, Q> {
  private readonly params: HnswParams;
  private rng: SeededRandom;
  private readonly mL: number;
  private nodes: (HnswNode | undefined)[] = [];
  private readonly free: number[] = [];
  private readonly slotOf = new Map<number, number>();
  private entry = -1;
  private dim: number | undefined;
  private readonly visited = new VisitedMarks();

  /**
   * `params` from `hnswParamsFor` (validated again here). The index keeps references to `space` and
   * `accessor` and never copies vectors.
   */
  constructor(
    private readonly space: VectorSpace<V, Q>,
    private readonly accessor: VectorAccessor<V>,
    params: HnswParams,
  ) {
    this.params = validateParams(params);
    this.rng = new SeededRandom(params.seed);
    this.mL = 1 / Math.log(params.M);
  }

  /** Rebuilds an index from `exportState()` output (used by the codec). */
  static fromState<V, Q>(space: VectorSpace<V, Q>, accessor: VectorAccessor<V>, s: HnswState): HnswIndex<V, Q> {
    const ix = new HnswIndex(space, accessor, s.params);
    ix.rng = new SeededRandom(s.rngState);
    ix.nodes = s.nodes.map((n) => ({ id: n.id, links: n.links.map((l) => l.slice()) }));
    ix.nodes.forEach((n, slot) => ix.slotOf.set(n!.id, slot));
    ix.entry = s.entry;
    ix.dim = s.dimension;
    return ix;
  }

  get size(): number {
    return this.slotOf.size;
  }

  get dimension(): number | undefined {
    return this.dim;
  }

  /** The parameters this graph was built with. */
  get parameters(): HnswParams {
    return this.params;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  ids(): number[] {
    return [...this.slotOf.keys()].sort((a, b) => a - b);
  }

  /**
   * Adds `id`. The accessor must already resolve `id` to `vector`: re-selecting a neighbour's links reads
   * it. Throws INVALID_ARGUMENT for a bad or duplicate id or a length differing from earlier vectors; if
   * the accessor or space throws midway, the index is left without `id` and the error is rethrown.
   */
  insert(id: number, vector: V): void {
    checkId(id);
    if (this.slotOf.has(id)) throw invalidArgument(`id ${id} is already in the index`);
    this.space.checkVector(vector);
    this.checkLength(this.space.lengthOf(vector), 'vector');
    this.dim ??= this.space.lengthOf(vector);
    const level = Math.min(64, Math.floor(-Math.log(1 - this.rng.next()) * this.mL));
    const node: HnswNode = { id, links: Array.from({ length: level + 1 }, () => []) };
    const dist: Dist = (s) => this.space.distance(vector, this.vec(s));
    if (this.entry < 0) {
      this.entry = this.place(node);
      return;
    }
    let ep = this.entry;
    let epD = dist(ep);
    const top = this.levelOf(this.entry);
    for (let l = top; l > level; l--) [ep, epD] = this.greedy(dist, ep, epD, l);
    const slot = this.place(node);
    const previousEntry = this.entry;
    try {
      for (let l = Math.min(level, top); l >= 0; l--) {
        const found = this.searchLayer(dist, ep, epD, this.params.efConstruction, l);
        node.links[l] = this.select(found, this.params.M, slot);
        for (const n of node.links[l]!) this.linkBack(n, slot, l);
        [epD, ep] = found[0]!;
      }
      if (level > top) this.entry = slot;
      this.ensureReachable(0);
    } catch (e) {
      this.entry = previousEntry;
      this.unplace(slot);
      throw e;
    }
  }

  /** The `k` nearest ids; `ef` defaults to `efSearch` and is raised to `k`. */
  search(query: Q, k: number, ef?: number): SearchHit[] {
    checkSearchArgs(k, ef);
    if (this.entry < 0) return [];
    this.space.checkQuery(query);
    this.checkLength(this.space.queryLengthOf(query), 'query');
    const dist: Dist = (s) => this.space.queryDistance(query, this.vec(s));
    let ep = this.entry;
    let epD = dist(ep);
    for (let l = this.levelOf(ep); l > 0; l--) [ep, epD] = this.greedy(dist, ep, epD, l);
    const found = this.searchLayer(dist, ep, epD, Math.max(ef ?? this.params.efSearch, k), 0);
    return found.slice(0, k).map(([d, s]) => ({ id: this.nodes[s]!.id, distance: d }));
  }

  remove(id: number): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    const node = this.nodes[slot]!;
    this.nodes[slot] = undefined;
    this.slotOf.delete(id);
    this.free.push(slot);
    if (this.entry === slot) this.entry = this.highestNode();
    // Strip every link to the freed slot first, so repairs on one level never walk into it on another.
    const inbound: number[][] = node.links.map(() => []);
    this.nodes.forEach((n, s) =>
      n?.links.forEach((l, lv) => {
        if (lv >= inbound.length || !l.includes(slot)) return;
        n.links[lv] = l.filter((x) => x !== slot);
        inbound[lv]!.push(s);
      }),
    );
    node.links.forEach((removedLinks, l) => this.repairLevel(inbound[l]!, removedLinks, l));
    return true;
  }

  /** A dense copy of the graph (slots renumbered without holes) for the codec. */
  exportState(): HnswState {
    const graph = denseGraph(this.nodes, this.entry);
    return { params: this.params, dimension: this.dim, rngState: this.rng.state, ...graph };
  }

  /** Approximate bytes held by the graph (ids, links, maps), excluding vectors. */
  memoryBytes(): number {
    let links = 0;
    for (const n of this.nodes) if (n) for (const l of n.links) links += l.length;
    return links * 8 + this.slotOf.size * (8 + 40 + 32) + this.visited.byteLength;
  }

  private vec(slot: number): V {
    const id = this.nodes[slot]!.id;
    const v = this.accessor(id);
    if (v === undefined || v === null) throw notFound(`the accessor has no vector for id ${id}`);
    return v;
  }

  private levelOf(slot: number): number {
    return this.nodes[slot]!.links.length - 1;
  }

  private checkLength(n: number, what: string): void {
    if (this.dim !== undefined && n !== this.dim) {
      throw invalidArgument(`${what} has ${n} elements but this index holds vectors of ${this.dim}`);
    }
  }

  /** Stores `node` in a free slot (or a new one) and returns the slot. */
  private place(node: HnswNode): number {
    const slot = this.free.pop() ?? this.nodes.length;
    this.nodes[slot] = node;
    this.slotOf.set(node.id, slot);
    return slot;
  }

  /** Undoes a failed insert without reading any vector, so it cannot fail itself. */
  private unplace(slot: number): void {
    this.slotOf.delete(this.nodes[slot]!.id);
    this.nodes[slot] = undefined;
    this.free.push(slot);
    for (const n of this.nodes) n?.links.forEach((l, lv) => (n.links[lv] = l.filter((x) => x !== slot)));
  }

  private maxLinks(level: number): number {
    return level === 0 ? 2 * this.params.M : this.params.M;
  }

  /** Moves to ever closer neighbours on `level` until none is closer. */
  private greedy(dist: Dist, ep: number, epD: number, level: number): [number, number] {
    for (let moved = true; moved; ) {
      moved = false;
      for (const n of this.nodes[ep]!.links[level]!) {
        const d = dist(n);
        if (d < epD || (d === epD && n < ep)) [ep, epD, moved] = [n, d, true];
      }
    }
    return [ep, epD];
  }

  /** Beam search on one level; returns up to `ef` [distance, slot] pairs ascending. */
  private searchLayer(dist: Dist, ep: number, epD: number, ef: number, level: number): Array<[number, number]> {
    this.visited.begin(this.nodes.length);
    const candidates = new PairHeap(1);
    const results = new PairHeap(-1);
    candidates.push(epD, ep);
    results.push(epD, ep);
    this.visited.visit(ep);
    while (candidates.size > 0) {
      const cd = candidates.topKey()!;
      if (results.size >= ef && cd > results.topKey()!) break;
      const c = candidates.pop()!;
      for (const n of this.nodes[c]!.links[level] ?? []) {
        if (!this.visited.visit(n)) continue;
        const d = dist(n);
        if (results.size < ef || d < results.topKey()!) {
          candidates.push(d, n);
          results.push(d, n);
          if (results.size > ef) results.pop();
        }
      }
    }
    return results.sortedAscending();
  }

  private select(sorted: Array<[number, number]>, m: number, owner: number): number[] {
    return selectNeighbours(sorted, m, owner, (slot) => this.vec(slot), (a, b) => this.space.distance(a, b));
  }

  /** Adds the link from -> to; a full list re-selects by the heuristic (hnswlib's rule). */
  private linkBack(from: number, to: number, level: number): void {
    const links = this.nodes[from]!.links[level]!;
    if (links.includes(to)) return;
    if (links.length < this.maxLinks(level)) {
      links.push(to);
      return;
    }
    this.relink(from, [...links, to], level);
  }

  /** Re-selects `slot`'s links on `level` from `candidates`. */
  private relink(slot: number, candidates: number[], level: number): void {
    const base = this.vec(slot);
    const uniq = [...new Set(candidates)].filter((c) => c !== slot && this.nodes[c] !== undefined);
    const sorted = uniq.map((c): [number, number] => [this.space.distance(base, this.vec(c)), c]);
    this.nodes[slot]!.links[level] = this.select(sorted, this.maxLinks(level), slot);
  }

  /** In-neighbours of the removed node re-select their links from their own and the removed node's links. */
  private repairLevel(inbound: number[], removedLinks: number[], level: number): void {
    for (const s of inbound) this.relink(s, [...this.nodes[s]!.links[level]!, ...removedLinks], level);
    this.ensureReachable(level);
  }

  /**
   * Re-selection can cut every in-link of a node (above all among duplicate tensors, which tie), so after
   * each insert and removal every node the entry point no longer reaches is re-attached. The walk costs
   * O(nodes * links) with no distance computed, small next to the distances of one insert.
   */
  private ensureReachable(level: number): void {
    for (let pass = 0; pass < 3; pass++) {
      const reached = reachableSlots(this.nodes, this.entry, level);
      const lost = this.nodes.flatMap((n, s) => (n && n.links.length > level && !reached.has(s) ? [s] : []));
      if (lost.length === 0) return;
      for (const x of lost) this.reattach(x, level);
    }
  }

  /** Gives `slot` in-links from its nearest reachable nodes; the nearest takes it even when full. */
  private reattach(slot: number, level: number): void {
    const entry = this.entry;
    if (entry < 0 || entry === slot || this.levelOf(entry) < level) return;
    const v = this.vec(slot);
    const dist: Dist = (s) => this.space.distance(v, this.vec(s));
    let ep = entry;
    let epD = dist(ep);
    for (let l = this.levelOf(ep); l > level; l--) [ep, epD] = this.greedy(dist, ep, epD, l);
    const found = this.searchLayer(dist, ep, epD, this.params.efConstruction, level).filter(([, s]) => s !== slot);
    const chosen = this.select(found, this.params.M, slot);
    for (const n of chosen) this.linkBack(n, slot, level);
    const nearest = chosen[0] === undefined ? undefined : this.nodes[chosen[0]]!.links[level]!;
    // One link over the limit until that node's next re-selection beats an unreachable node.
    if (nearest && !chosen.some((n) => this.nodes[n]!.links[level]!.includes(slot))) nearest.push(slot);
  }

  private highestNode(): number {
    let best = -1;
    this.nodes.forEach((n, s) => {
      if (n && (best < 0 || n.links.length > this.nodes[best]!.links.length)) best = s;
    });
    return best;
  }
}
