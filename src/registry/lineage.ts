/**
 * Lineage between repositories, from two sources: what a model card declares (`base_model` in README.md's
 * front matter) and what the store found (a repository's tensors stored as deltas of, or exact copies of,
 * tensors first stored for another repository's model). Each edge says how many bytes the store saved on it:
 * for every such tensor, its size minus what it added on disk.
 */
import type { Registry } from './registry.js';
import { BaseNames, sourceKey } from '../store/describe-model.js';
import { DEFAULT_BRANCH } from './registry.js';

export interface LineageEdge {
  /** The base repository (or a model id outside this hub, for a card's `base_model`). */
  base: string;
  child: string;
  declared: boolean;
  /** Tensors of the child stored against (or as copies of) the base's. */
  sharedTensors: number;
  bytesSaved: number;
}

export interface LineageGraph {
  repos: string[];
  edges: LineageEdge[];
}

/** The lineage of every repository's default branch. */
export async function lineageGraph(reg: Registry): Promise<LineageGraph> {
  const repos = (await reg.repos()).sort((a, b) => a.createdMs - b.createdMs);
  const order = new Map(repos.map((r, i) => [r.name, i]));
  const edges = new Map<string, LineageEdge>();
  const edge = (base: string, child: string): LineageEdge => {
    const k = `${base}\n${child}`;
    let e = edges.get(k);
    if (!e) edges.set(k, (e = { base, child, declared: false, sharedTensors: 0, bytesSaved: 0 }));
    return e;
  };
  const owners = new BaseNames(reg.store);
  /** The repository that first held store model `model` (by creation order), other than `except`. */
  const firstRepoOf = async (model: string, except: string): Promise<string | undefined> => {
    const holders = [...new Set((await reg.db.commitsWithModel(model)).map((c) => c.repo))].filter((r) => r !== except && order.has(r));
    return holders.sort((a, b) => order.get(a)! - order.get(b)!)[0];
  };
  for (const repo of repos) {
    let head;
    try {
      head = await reg.resolve(repo.name, DEFAULT_BRANCH);
    } catch {
      continue;
    }
    for (const b of head.baseModels) if (b !== repo.name) edge(b, repo.name).declared = true;
    const models = new Set((await reg.files(head)).filter((f) => f.kind === 'model').map((f) => f.ref));
    for (const model of models) {
      // The whole model already held by an older repository: every tensor is shared.
      const elder = await firstRepoOf(model, repo.name);
      const info = await reg.store.info(model).catch(() => undefined);
      if (!info) continue;
      if (elder && order.get(elder)! < order.get(repo.name)!) {
        const e = edge(elder, repo.name);
        e.sharedTensors += info.tensors.length;
        e.bytesSaved += info.tensors.reduce((n, t) => n + t.byteLength, 0);
        continue;
      }
      for (const t of info.tensors) {
        const key = sourceKey(t);
        if (key === undefined) continue;
        const owner = (await owners.ownerOf(key))?.model;
        if (!owner || owner === model) continue;
        const base = await firstRepoOf(owner, repo.name);
        if (!base) continue;
        const e = edge(base, repo.name);
        e.sharedTensors += 1;
        e.bytesSaved += Math.max(0, t.byteLength - t.storedBytes);
      }
    }
  }
  return { repos: repos.map((r) => r.name), edges: [...edges.values()] };
}

/** The part of the graph connected to `repo` (its ancestors, their descendants). */
export function lineageOf(graph: LineageGraph, repo: string): LineageGraph {
  const keep = new Set([repo]);
  for (let grew = true; grew;) {
    grew = false;
    for (const e of graph.edges) {
      if (keep.has(e.child) !== keep.has(e.base)) {
        keep.add(e.child);
        keep.add(e.base);
        grew = true;
      }
    }
  }
  return { repos: graph.repos.filter((r) => keep.has(r)), edges: graph.edges.filter((e) => keep.has(e.child)) };
}
