/**
 * HNSW neighbour selection, apart from the graph so it can be tested and tuned alone. hnswlib's heuristic
 * walks candidates nearest first and keeps one only when it is closer to the base than to every neighbour
 * kept so far, which spreads links across directions. The list is then topped up with the nearest pruned
 * candidates (the HNSW paper's keepPrunedConnections): tight clusters of near-copies, which is what
 * fine-tunes of one base are, otherwise leave nodes with one or two links that beam search can miss. Exact
 * duplicates of the base are capped at half the list (see below).
 */

/** A hash of (candidate, owner) that orders equal distances without favouring old or new slots. */
function tieRank(slot: number, owner: number): number {
  let x = Math.imul(slot ^ Math.imul(owner, 0x9e3779b1), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * Picks up to `m` neighbours for the node `owner` from `sorted` ([distance to owner, slot] pairs, sorted
 * here in place). Equal distances (duplicate tensors) are ordered by a hash rather than by slot: slot order
 * would cut the newest duplicate from every full list. `vectorOf` is called once per examined candidate;
 * `distance` compares two candidates' vectors.
 */
export function selectNeighbours<V>(
  sorted: Array<[number, number]>,
  m: number,
  owner: number,
  vectorOf: (slot: number) => V,
  distance: (a: V, b: V) => number,
): number[] {
  sorted.sort((a, b) => a[0] - b[0] || tieRank(a[1], owner) - tieRank(b[1], owner));
  const kept: number[] = [];
  const keptVectors: V[] = [];
  const pruned: number[] = [];
  const distanceOf = new Map<number, number>(sorted.map(([d, c]) => [c, d]));
  for (const [d, c] of sorted) {
    if (kept.length >= m) break;
    const cv = vectorOf(c);
    if (keptVectors.every((kv) => distance(cv, kv) > d)) {
      kept.push(c);
      keptVectors.push(cv);
    } else {
      pruned.push(c);
    }
  }
  // Exact duplicates of the base (distance 0) take at most half the list: filled only with duplicates, a
  // group of identical tensors links only to itself and searches entering it cannot leave.
  const dupCap = Math.ceil(m / 2);
  let dups = kept.filter((c) => distanceOf.get(c) === 0).length;
  const skipped: number[] = [];
  for (const c of pruned) {
    if (kept.length >= m) break;
    const isDup = distanceOf.get(c) === 0;
    if (isDup && dups >= dupCap) {
      skipped.push(c);
    } else {
      kept.push(c);
      if (isDup) dups++;
    }
  }
  for (const c of skipped) if (kept.length < m) kept.push(c);
  return kept;
}
