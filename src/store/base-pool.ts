/**
 * The bases a put can encode against, found by similarity per shape (DESIGN "ingest pipeline", step 3):
 *   - tensors (default and lossless modes): float tensors whose delta chain is short enough (MAX_DELTA_DEPTH),
 *     searched through 8-bit sketches
 *     (`SketchRouter`), so the index never holds whole tensors; candidates are then tried by encoded size;
 *   - 8-bit bases (paper mode): searched by squared L2 on dequantized values (`ShapeRouter`, HNSW per shape);
 *   - byte bases (1-byte tensors, coded losslessly by XOR or subtraction): the few most recent stored tensors of
 *     the same shape and dtype, kept as a short list; the encoder ranks them itself (they are few and cheap).
 * Each shape's index is filled lazily from the catalog the first time a tensor of that shape arrives, and
 * grows as the put adds bases. One pool serves one put (the catalog is the truth between puts).
 */
import { NeurStoreError } from '../errors.js';
import type { Catalog } from '../catalog/catalog.js';
import type { Quant8 } from '../codecs/quant8.js';
import { Quant8L2Space } from '../vector-index/quant8-l2-space.js';
import { ShapeRouter, shapeKey } from '../vector-index/shape-router.js';
import { SketchRouter } from '../vector-index/sketch-router.js';
import { TensorSketcher } from '../vector-index/tensor-sketcher.js';
import type { FloatDType } from '../codecs/float-ulp.js';
import type { TensorDecoder } from './tensor-decoder.js';

/** Stored tensors of one shape loaded as candidates per put, by default. */
export const MAX_LOADED_PER_SHAPE = 64;
/** Sketch candidates re-ranked by exact distance per query. */
const SKETCH_CANDIDATES = 16;
/** Up to this many tensors of a shape (and this many elements in all) are ranked exactly, with no sketch step. */
const EXACT_SCAN_ROOTS = 32;
const EXACT_SCAN_ELEMENTS = 1 << 24;

function squaredL2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

/** Seed of the sketches: fixed, so sketches are comparable across puts. */
const SKETCH_SEED = 0x5eed;

/** Longest delta chain a decode may have to walk: bases are tensors of depth below it. */
export const MAX_DELTA_DEPTH = 3;

/** Stored 1-byte tensors kept per (shape, dtype) as byte-base candidates (the most recent). */
export const MAX_BYTE_CANDIDATES = 8;
/**
 * Byte bases are tensors stored without a base (depth 0), so byte chains are one link long: on the face-api
 * fine-tune pair every delta is against its base model's tensor anyway, and a get decodes one record less.
 */
export const MAX_BYTE_BASE_DEPTH = 1;

/** A stored 1-byte tensor a lossless tensor may be coded against, with its exact bytes (read-only). */
export interface ByteCandidate {
  readonly key: bigint;
  readonly bytes: Uint8Array;
  readonly depth: number;
}

export interface BaseCandidate {
  readonly key: bigint;
  readonly dtype: FloatDType;
  readonly values: Float32Array;
  readonly depth: number;
  /** Squared L2 distance to the query. */
  readonly distance: number;
}

export class BasePool {
  private readonly ids = new Map<bigint, number>();
  private readonly keys: bigint[] = [];
  private readonly roots = new SketchRouter(new TensorSketcher(SKETCH_SEED), { considerTransposed: false });
  private readonly rootInfo = new Map<number, { dtype: FloatDType; depth: number }>();
  private readonly rootsByShape = new Map<string, number[]>();
  private readonly base8 = new Map<number, Quant8>();
  private readonly paper = new ShapeRouter(new Quant8L2Space(), (id) => this.base8.get(id)!, { considerTransposed: false });
  private readonly loadedRoots = new Set<string>();
  private readonly loadedPaper = new Set<string>();
  /** Byte candidates per `shape|dtype`, oldest first (their bytes come from the decoder's cache). */
  private readonly byteLists = new Map<string, Array<{ key: bigint; depth: number }>>();

  /** `loadPerShape`: stored tensors of a shape loaded as candidates (the most recent first). */
  constructor(
    private readonly catalog: Catalog,
    private readonly decoder: TensorDecoder,
    private readonly loadPerShape = MAX_LOADED_PER_SHAPE,
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

  /** Up to `count` bases for a tensor of `shape`, nearest first, with their decoded values. */
  async candidates(shape: readonly number[], x: Float32Array, count: number): Promise<BaseCandidate[]> {
    const skey = shapeKey(shape);
    if (!this.loadedRoots.has(skey)) {
      this.loadedRoots.add(skey);
      // Decoding every stored tensor of a popular shape would make each put slower than the last: the most
      // recent ones (a family's latest members) stand for the rest.
      for (const r of await this.catalog.baseCandidates(shape, MAX_DELTA_DEPTH, this.loadPerShape)) {
        const values = (await this.readable(r.key, r.dtype as FloatDType)) as Float32Array | null;
        if (values) this.addCandidate(shape, r.key, r.dtype as FloatDType, values, r.depth);
      }
    }
    // Sketch distance only approximates (an 8-bit sketch can blur a fine-tune's small changes): a shape with
    // few roots is ranked exactly, a crowded one by sketch first, then exactly over a wider candidate set.
    const all = this.rootsByShape.get(skey) ?? [];
    const exact = all.length <= EXACT_SCAN_ROOTS && all.length * x.length <= EXACT_SCAN_ELEMENTS;
    if (!exact) await this.sketchAll(shape, all);
    const ids = exact ? all : this.roots.candidates(shape, x, Math.max(count, SKETCH_CANDIDATES)).map((h) => h.id);
    const ranked: BaseCandidate[] = [];
    for (const id of ids) {
      const key = this.keys[id]!;
      const { dtype, depth } = this.rootInfo.get(id)!;
      const values = (await this.readable(key, dtype)) as Float32Array | null;
      if (values) ranked.push({ key, dtype, values, depth, distance: squaredL2(x, values) });
    }
    return ranked.sort((a, b) => a.distance - b.distance).slice(0, count);
  }

  /** Makes a just-stored tensor a base for the rest of the put (matches inside one model count too). */
  addCandidate(shape: readonly number[], key: bigint, dtype: FloatDType, values: Float32Array, depth: number): void {
    const id = this.idOf(key);
    if (depth >= MAX_DELTA_DEPTH || this.rootInfo.has(id) || values.some((v) => !Number.isFinite(v))) return;
    this.rootInfo.set(id, { dtype, depth });
    this.decoder.prime(key, dtype, values);
    const skey = shapeKey(shape);
    const list = this.rootsByShape.get(skey);
    if (list) list.push(id);
    else this.rootsByShape.set(skey, [id]);
  }

  /**
   * The byte-base candidates for a 1-byte tensor of `shape` and `dtype`: the most recent stored tensors of that
   * shape and dtype (loaded from the catalog on first use), plus those of this put, oldest first.
   */
  async byteCandidates(shape: readonly number[], dtype: string): Promise<ByteCandidate[]> {
    const id = `${shapeKey(shape)}|${dtype}`;
    let list = this.byteLists.get(id);
    if (!list) {
      const rows = await this.catalog.baseCandidates(shape, MAX_BYTE_BASE_DEPTH, MAX_BYTE_CANDIDATES, [dtype]);
      list = rows.reverse().map((r) => ({ key: r.key, depth: r.depth }));
      this.byteLists.set(id, list);
    }
    const out: ByteCandidate[] = [];
    // Records of this put are readable at once (the engine shows a batch to its writer), so none is held here.
    for (const c of list) {
      const bytes = (await this.readable(c.key, 'bytes')) as Uint8Array | null;
      if (bytes) out.push({ ...c, bytes });
    }
    return out;
  }

  /**
   * Makes a just-stored 1-byte tensor a byte base for the rest of the put. Only (shape, dtype) pairs already
   * looked up with `byteCandidates` keep a list; the oldest entry leaves when the list is full.
   */
  addByteCandidate(shape: readonly number[], dtype: string, key: bigint, depth: number): void {
    const list = this.byteLists.get(`${shapeKey(shape)}|${dtype}`);
    if (!list || depth >= MAX_BYTE_BASE_DEPTH || list.some((c) => c.key === key)) return;
    list.push({ key, depth });
    if (list.length > MAX_BYTE_CANDIDATES) list.shift();
  }

  /**
   * A base's decoded form, or null when its record is damaged or gone: a base that cannot be read is no
   * candidate, and the put stores the tensor against another base or alone (never fails for it).
   */
  private async readable(key: bigint, view: FloatDType | 'bytes'): Promise<Float32Array | Uint8Array | null> {
    try {
      return await this.decoder.base(key, view);
    } catch (e) {
      if (e instanceof NeurStoreError && (e.code === 'CORRUPTION' || e.code === 'NOT_FOUND')) return null;
      throw e;
    }
  }

  /** Sketches the candidates of a shape not sketched yet: only crowded shapes ever need the sketch index. */
  private async sketchAll(shape: readonly number[], ids: readonly number[]): Promise<void> {
    for (const id of ids) {
      if (this.roots.has(id)) continue;
      const { dtype } = this.rootInfo.get(id)!;
      const values = (await this.readable(this.keys[id]!, dtype)) as Float32Array | null;
      if (values) this.roots.insert(id, shape, values);
    }
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

  /**
   * Approximate bytes held by the indexes: sketch graphs with their sketches, HNSW graphs with the 8-bit
   * bases they search (the paper's index holds whole quantized tensors; ours holds sketches of <= 1 KiB).
   * Decoded bases in the decoder's cache are not counted (they are a cache with its own budget).
   */
  memoryBytes(): number {
    let n = 0;
    for (const key of this.roots.shapeKeys()) n += this.roots.indexFor(key)?.memoryBytes() ?? 0;
    for (const key of this.paper.shapeKeys()) n += this.paper.indexFor(key)?.memoryBytes() ?? 0;
    for (const q of this.base8.values()) n += q.codes.length;
    return n;
  }
}
