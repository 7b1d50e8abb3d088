/**
 * The bases a put can encode against, found by similarity per shape (DESIGN "ingest pipeline", step 3):
 *   - roots (default and lossless modes): float tensors stored without a base, searched through 8-bit sketches
 *     (`SketchRouter`), so the index never holds whole tensors; candidates are then tried by encoded size;
 *   - 8-bit bases (paper mode): searched by squared L2 on dequantized values (`ShapeRouter`, HNSW per shape).
 * Each shape's index is filled lazily from the catalog the first time a tensor of that shape arrives, and
 * grows as the put adds bases. One pool serves one put (the catalog is the truth between puts).
 */
import type { Catalog } from '../catalog/catalog.js';
import type { Quant8 } from '../codecs/quant8.js';
import { Quant8L2Space } from '../vector-index/quant8-l2-space.js';
import { ShapeRouter, shapeKey } from '../vector-index/shape-router.js';
import { SketchRouter } from '../vector-index/sketch-router.js';
import { TensorSketcher } from '../vector-index/tensor-sketcher.js';
import type { FloatDType } from '../codecs/float-ulp.js';
import type { TensorDecoder } from './tensor-decoder.js';

/** Seed of the sketches: fixed, so sketches are comparable across puts. */
const SKETCH_SEED = 0x5eed;

export interface RootBase {
  readonly key: bigint;
  readonly dtype: FloatDType;
  readonly values: Float32Array;
}

export class BasePool {
  private readonly ids = new Map<bigint, number>();
  private readonly keys: bigint[] = [];
  private readonly roots = new SketchRouter(new TensorSketcher(SKETCH_SEED), { considerTransposed: false });
  private readonly rootInfo = new Map<number, { dtype: FloatDType }>();
  private readonly base8 = new Map<number, Quant8>();
  private readonly paper = new ShapeRouter(new Quant8L2Space(), (id) => this.base8.get(id)!, { considerTransposed: false });
  private readonly loadedRoots = new Set<string>();
  private readonly loadedPaper = new Set<string>();

  constructor(
    private readonly catalog: Catalog,
    private readonly decoder: TensorDecoder,
  ) {}

  private idOf(key: bigint): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.keys.length;
      this.keys.push(key);
      this.ids.set(key, id);
    }
    return id;
  }

  /** Up to `count` roots of `shape`, most similar first by sketch, with their decoded values. */
  async rootCandidates(shape: readonly number[], x: Float32Array, count: number): Promise<RootBase[]> {
    const skey = shapeKey(shape);
    if (!this.loadedRoots.has(skey)) {
      this.loadedRoots.add(skey);
      for (const r of await this.catalog.rootsOfShape(shape)) {
        const values = (await this.decoder.base(r.key, r.dtype as FloatDType)) as Float32Array;
        this.addRoot(shape, r.key, r.dtype as FloatDType, values);
      }
    }
    const hits = this.roots.candidates(shape, x, count);
    const out: RootBase[] = [];
    for (const h of hits.slice(0, count)) {
      const key = this.keys[h.id]!;
      const dtype = this.rootInfo.get(h.id)!.dtype;
      out.push({ key, dtype, values: (await this.decoder.base(key, dtype)) as Float32Array });
    }
    return out;
  }

  /** Makes a just-stored root a candidate for the rest of the put (matches inside one model count too). */
  addRoot(shape: readonly number[], key: bigint, dtype: FloatDType, values: Float32Array): void {
    const id = this.idOf(key);
    if (this.roots.has(id) || values.some((v) => !Number.isFinite(v))) return;
    this.rootInfo.set(id, { dtype });
    this.roots.insert(id, shape, values);
  }

  /** The paper mode's nearest 8-bit base of `shape` (top-1 by squared L2 on dequantized values). */
  async paperNearest(shape: readonly number[], x: Float32Array): Promise<{ key: bigint; base: Quant8 } | undefined> {
    const skey = shapeKey(shape);
    if (!this.loadedPaper.has(skey)) {
      this.loadedPaper.add(skey);
      for (const key of await this.catalog.paperBasesOfShape(shape)) this.addPaperBase(shape, key, await this.readBase8(key));
    }
    const hit = this.paper.search(shape, x, 1)[0];
    return hit && { key: this.keys[hit.id]!, base: this.base8.get(hit.id)! };
  }

  addPaperBase(shape: readonly number[], key: bigint, base: Quant8): void {
    const id = this.idOf(key);
    if (this.base8.has(id)) return;
    this.base8.set(id, base);
    this.paper.insert(id, shape, base);
  }

  private readBase8(key: bigint): Promise<Quant8> {
    return this.decoder.base8(key);
  }

  /** Rough bytes held by the indexes (sketches, graphs, 8-bit bases). */
  memoryBytes(): number {
    let n = 0;
    for (const q of this.base8.values()) n += q.codes.length + 64;
    return n + this.rootInfo.size * 1200;
  }
}
