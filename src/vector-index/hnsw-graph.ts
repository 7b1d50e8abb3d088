/**
 * The plain-data side of an HNSW graph: node and state shapes shared by the index and its codec, and the
 * whole-graph walks (compaction, reachability) that need no distances.
 */
import type { HnswParams } from './hnsw-params.js';

/** One graph node: `links[level]` holds neighbour slots; the node's level is `links.length - 1`. */
export interface HnswNode {
  readonly id: number;
  readonly links: number[][];
}

/** The whole persistent state of a graph (vectors excluded), as written by the index codec. */
export interface HnswState {
  readonly params: HnswParams;
  readonly dimension: number | undefined;
  readonly rngState: number;
  /** Slot of the entry point, -1 when empty. */
  readonly entry: number;
  /** Dense: every slot holds a node. */
  readonly nodes: HnswNode[];
}

/** Live nodes renumbered densely (links remapped) and the entry point's new slot (-1 when empty). */
export function denseGraph(
  nodes: ReadonlyArray<HnswNode | undefined>,
  entry: number,
): { entry: number; nodes: HnswNode[] } {
  const remap = new Map<number, number>();
  const live: HnswNode[] = [];
  nodes.forEach((n, s) => {
    if (n) remap.set(s, live.push(n) - 1);
  });
  const dense = live.map((n) => ({ id: n.id, links: n.links.map((l) => l.map((s) => remap.get(s)!)) }));
  return { entry: entry < 0 ? -1 : remap.get(entry)!, nodes: dense };
}

/** Slots reachable from `entry` along links of `level` (empty when the entry is not on that level). */
export function reachableSlots(nodes: ReadonlyArray<HnswNode | undefined>, entry: number, level: number): Set<number> {
  const seen = new Set<number>();
  if (entry < 0 || nodes[entry]!.links.length <= level) return seen;
  const stack = [entry];
  seen.add(entry);
  while (stack.length > 0) {
    for (const n of nodes[stack.pop()!]!.links[level]!) {
      if (!seen.has(n)) stack.push(n), seen.add(n);
    }
  }
  return seen;
}
