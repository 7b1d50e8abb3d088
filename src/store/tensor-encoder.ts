/**
 * The per-tensor decision of the ingest pipeline (DESIGN steps 2-4): exact dedup by content, then, by mode,
 *   lossless: byte planes + entropy coding, XOR against the most similar tensor when that is smaller (1-byte
 *             tensors: XOR or subtraction against the stored tensor of their shape and dtype that looks cheapest);
 *   default:  group-wise quantization within the tolerance, against the near tensor that encodes smallest or alone
 *             (deterministic, cost-based), decoded in the source dtype;
 *   paper:    the published algorithm, kept faithful: top-1 8-bit base by L2, the bit rule std/nb, a new base
 *             with probability 1 - exp(-(nb - std)) (seeded), b-bit min/max deltas, bases indexed after the model.
 * Every lossy result is decoded here once and checked against the bound before it is stored.
 */
import { NeurStoreError } from '../errors.js';
import type { CodecName, Mode, StoredAs, TensorRow } from '../catalog/catalog.js';
import { encodeLossless, type LosslessEffort } from '../codecs/lossless.js';
import { decodeGroupDelta, encodeGroupDelta, estimateGroupDeltaBytes } from '../codecs/group-delta.js';
import { decodePaperDelta, encodePaperDelta, paperNeededBits, paperStdBits } from '../codecs/paper-delta.js';
import { dequantize8, quantize8, type Quant8 } from '../codecs/quant8.js';
import { roundTo } from '../codecs/half-float.js';
import { ulpOf, type FloatDType } from '../codecs/float-ulp.js';
import { dtypeBytes } from '../formats/dtype.js';
import { SeededRandom } from '../env/seeded-random.js';
import type { ContentStore } from './content-store.js';
import type { BaseCandidate, BasePool, ByteCandidate } from './base-pool.js';
import { encodeQuant8 } from './tensor-decoder.js';
import { Codec, RecordKind, exactIdentity, lossyIdentity, type PayloadParts } from './record-payload.js';
import { bytesOf, isFloatDType, maxAbsError, valuesOf } from './tensor-values.js';

/** A lossless tensor looks for an XOR base only if its planes alone shrank it below this fraction. */
const STRUCTURED_FRACTION = 0.97;
/** Largest ||x - base||^2 / ||x||^2 at which a lossless tensor tries XOR against the base. */
const XOR_MAX_RELATIVE_DISTANCE = 0.1;
/** Tensors smaller than this are stored exactly (lossless) in every mode: a base would cost more than it saves. */
export const MIN_LOSSY_ELEMENTS = 64;
/** Bases (the nearest by exact distance) tried per tensor in the default mode; the smallest estimate wins. */
const BASE_TRIES = 3;

export interface TensorInput {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** How one tensor was stored: the catalog row's storage fields, with the record's key. */
export type EncodedTensor = { readonly key: bigint } & Pick<TensorRow, 'storedAs' | 'codec' | 'baseKey' | 'depth' | 'storedBytes' | 'bits' | 'maxError'>;

interface Choice {
  readonly storedAs: StoredAs;
  readonly parts: PayloadParts;
  readonly maxError: number;
  /** Set for a float tensor that later tensors may use as a base (its decoded values). */
  readonly candidate?: { dtype: FloatDType; values: Float32Array };
  readonly newBase8?: { key: bigint; base: Quant8; storedBytes: number };
}

const CODEC_NAMES: Record<number, CodecName> = {
  [Codec.Raw]: 'raw', [Codec.Zstd]: 'zstd', [Codec.Lossless]: 'lossless', [Codec.GroupDelta]: 'group-delta', [Codec.PaperDelta]: 'paper-delta',
};

/** The two identities of a tensor put in a lossy mode (computed once per tensor). */
interface Identities {
  readonly lossy: Uint8Array;
  readonly exact: Uint8Array;
}

/** Bytes sampled (evenly spaced) to price a 1-byte tensor against a byte base. */
const ENTROPY_SAMPLES = 1 << 16;

/**
 * Order-0 entropy (bits per byte) of `x`, or with a base of the smaller of x XOR base and x - base (mod 256),
 * over an evenly spaced sample: what the lossless coder's planes would cost, to rank bases without encoding.
 */
function sampledEntropyBits(x: Uint8Array, base: Uint8Array | null): number {
  const stride = Math.max(1, Math.floor(x.length / ENTROPY_SAMPLES));
  const xor = new Uint32Array(256);
  const sub = new Uint32Array(256);
  let n = 0;
  for (let i = 0; i < x.length; i += stride, n++) {
    const b = base ? base[i]! : 0;
    xor[x[i]! ^ b]!++;
    sub[(x[i]! - b) & 0xff]!++;
  }
  return Math.min(entropyOf(xor, n), entropyOf(sub, n));
}

function entropyOf(counts: Uint32Array, n: number): number {
  let bits = 0;
  for (const c of counts) if (c > 0) bits -= c * Math.log2(c / n);
  return bits / n;
}

function squaredNorm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}

export class TensorEncoder {
  private readonly rng: SeededRandom;
  private readonly pendingBases: Array<{ shape: readonly number[]; key: bigint; base: Quant8 }> = [];

  constructor(
    private readonly content: ContentStore,
    private readonly pool: BasePool,
    readonly mode: Mode,
    readonly tolerance: number,
    seed = 42,
    /** How hard lossless coding works (codecs/lossless.ts): 'max' keeps the smallest of every coder. */
    private readonly effort: LosslessEffort = 'default',
  ) {
    this.rng = new SeededRandom(seed);
  }

  /** Stores one tensor (inside an engine write batch) and says how. */
  async put(t: TensorInput): Promise<EncodedTensor> {
    const exact = exactIdentity(RecordKind.Tensor, t.bytes);
    const lossy = this.mode === 'lossless' ? undefined : lossyIdentity(RecordKind.Tensor, this.mode, this.tolerance, t.bytes);
    for (const identity of lossy ? [exact, lossy] : [exact]) {
      const found = await this.content.find(identity);
      if (found) {
        const { codec, base } = found.header;
        // An exact hit holds these very bytes; a lossy hit an encoding of them within the tolerance.
        const maxError = identity === exact ? 0 : this.tolerance;
        return { key: found.key, storedAs: 'duplicate', codec: CODEC_NAMES[codec] ?? 'raw', baseKey: base?.key, depth: base?.depth ?? 0, storedBytes: 0, bits: 0, maxError };
      }
    }
    const elementBytes = dtypeBytes(t.dtype);
    const elements = t.bytes.length / elementBytes;
    const lossyOk = lossy && isFloatDType(t.dtype) && elements >= MIN_LOSSY_ELEMENTS;
    const choice = !lossyOk
      ? await this.lossless(t, exact)
      : this.mode === 'paper'
        ? await this.paper(t, t.dtype as FloatDType, { lossy, exact })
        : await this.grouped(t, t.dtype as FloatDType, { lossy, exact });
    const stored = await this.content.add(choice.parts);
    const depth = choice.parts.base?.depth ?? 0;
    if (elementBytes === 1) this.pool.addByteCandidate(t.shape, t.dtype, stored.key, depth);
    if (choice.candidate) this.pool.addCandidate(t.shape, stored.key, choice.candidate.dtype, choice.candidate.values, depth);
    if (choice.newBase8) this.pendingBases.push({ shape: t.shape, ...choice.newBase8 });
    return {
      key: stored.key, storedAs: choice.storedAs, codec: CODEC_NAMES[choice.parts.codec]!, baseKey: choice.parts.base?.key, depth,
      storedBytes: stored.storedBytes + (choice.newBase8?.storedBytes ?? 0), bits: (8 * choice.parts.body.length) / Math.max(1, elements), maxError: choice.maxError,
    };
  }

  /** Paper mode: new bases join the index only after the whole model is processed (as the published code does). */
  finish(): void {
    for (const b of this.pendingBases) this.pool.addPaperBase(b.shape, b.key, b.base);
    this.pendingBases.length = 0;
  }

  private async lossless(t: TensorInput, identity: Uint8Array): Promise<Choice> {
    const width = dtypeBytes(t.dtype);
    const raw: Choice = { storedAs: 'raw', parts: { kind: RecordKind.Tensor, codec: Codec.Raw, identity, body: t.bytes }, maxError: 0 };
    if (t.bytes.length < 64) return raw;
    let best = raw;
    const plain = encodeLossless(t.bytes, width, null, { effort: this.effort });
    if (plain.length < best.parts.body.length) best = { ...raw, storedAs: 'lossless', parts: { ...raw.parts, codec: Codec.Lossless, body: plain } };
    if (width === 1) return this.byteDelta(t, best);
    if (!isFloatDType(t.dtype)) return best;
    const values = valuesOf(t.bytes, t.dtype);
    // Bytes that byte planes cannot shrink at all (random-like) will not XOR into anything smaller either.
    const structured = best.parts.body.length < STRUCTURED_FRACTION * t.bytes.length;
    for (const c of structured ? await this.pool.candidates(t.shape, values, 1) : []) {
      // XOR helps only against a near copy (a fine-tune's own base), not any tensor of the same shape.
      if (c.dtype !== t.dtype || !(c.distance < XOR_MAX_RELATIVE_DISTANCE * squaredNorm(values))) continue;
      const xor = encodeLossless(t.bytes, width, bytesOf(c.values, c.dtype), { effort: this.effort });
      if (xor.length < best.parts.body.length) {
        const base = { key: c.key, view: 'bytes' as const, depth: c.depth + 1 };
        return { storedAs: 'lossless-delta', parts: { ...raw.parts, codec: Codec.Lossless, body: xor, base }, maxError: 0, candidate: { dtype: t.dtype, values } };
      }
    }
    return { ...best, candidate: { dtype: t.dtype, values } };
  }

  /**
   * A 1-byte tensor (quantized codes) against the stored tensor of its shape and dtype whose difference looks
   * cheapest by sampled entropy; kept when it codes smaller than `best` (the tensor alone).
   */
  private async byteDelta(t: TensorInput, best: Choice): Promise<Choice> {
    let pick: ByteCandidate | undefined;
    let pickBits = sampledEntropyBits(t.bytes, null);
    for (const c of await this.pool.byteCandidates(t.shape, t.dtype)) {
      const bits = sampledEntropyBits(t.bytes, c.bytes);
      if (bits < pickBits) {
        pick = c;
        pickBits = bits;
      }
    }
    if (!pick) return best;
    const body = encodeLossless(t.bytes, 1, pick.bytes, { effort: this.effort });
    if (body.length >= best.parts.body.length) return best;
    const base = { key: pick.key, view: 'bytes' as const, depth: pick.depth + 1 };
    return { storedAs: 'lossless-delta', parts: { ...best.parts, codec: Codec.Lossless, body, base }, maxError: 0 };
  }

  /** `ids.lossy` names the lossy record; `ids.exact` the exact one it falls back to. */
  private async grouped(t: TensorInput, dtype: FloatDType, ids: Identities): Promise<Choice> {
    const identity = ids.lossy;
    const x = valuesOf(t.bytes, dtype);
    const tol = this.tolerance;
    // Rank "alone" and each near base by estimated size (deterministic), then encode only the winner.
    let best = estimateGroupDeltaBytes(x, null, tol, { dtype });
    let base: BaseCandidate | undefined;
    for (const c of await this.pool.candidates(t.shape, x, BASE_TRIES)) {
      const estimate = estimateGroupDeltaBytes(x, c.values, tol, { dtype });
      if (estimate < best) {
        best = estimate;
        base = c;
      }
    }
    const blob = encodeGroupDelta(x, base?.values ?? null, tol, { dtype });
    if (blob.length >= t.bytes.length) return this.lossless(t, ids.exact);
    const decoded = decodeGroupDelta(blob, base?.values ?? null).values;
    const maxError = this.checkBound(t, x, decoded);
    const parts: PayloadParts = {
      kind: RecordKind.Tensor, codec: Codec.GroupDelta, identity, check: exactIdentity(RecordKind.Tensor, bytesOf(decoded, dtype)),
      body: blob, ...(base ? { base: { key: base.key, view: base.dtype, depth: base.depth + 1 } } : {}),
    };
    return { storedAs: base ? 'delta' : 'standalone', parts, maxError, candidate: { dtype, values: decoded } };
  }

  private async paper(t: TensorInput, dtype: FloatDType, ids: Identities): Promise<Choice> {
    const identity = ids.lossy;
    const x = valuesOf(t.bytes, dtype);
    let maxAbs = 0;
    for (const v of x) maxAbs = Math.max(maxAbs, Math.abs(v));
    // A 16-bit source is rounded back to its dtype after decoding: keep half an ulp of the bound for that.
    const tol = dtype === 'F32' ? this.tolerance : this.tolerance - ulpOf(dtype, maxAbs) / 2;
    if (!Number.isFinite(maxAbs) || !(tol > 0)) return this.lossless(t, ids.exact);
    const hit = await this.pool.paperNearest(t.shape, x);
    let base = hit;
    let storedAs: StoredAs = 'paper-delta';
    if (hit) {
      const baseValues = dequantize8(hit.base);
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < x.length; i++) {
        const d = x[i]! - baseValues[i]!;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
      const nb = paperNeededBits(hi - lo, tol);
      const std = paperStdBits(tol);
      if (nb > std && this.rng.next() < 1 - Math.exp(-(nb - std))) base = undefined;
    }
    let newBase8: Choice['newBase8'];
    if (!base) {
      const q = quantize8(x);
      const body = encodeQuant8(q);
      const id = exactIdentity(RecordKind.Base8, body);
      const found = await this.content.find(id);
      const added = found ? undefined : await this.content.add({ kind: RecordKind.Base8, codec: Codec.Quant8, identity: id, body });
      const key = found?.key ?? added!.key;
      base = { key, base: q };
      newBase8 = { key, base: q, storedBytes: added?.storedBytes ?? 0 };
      storedAs = 'paper-base';
    }
    const baseValues = dequantize8(base.base);
    const blob = encodePaperDelta(x, baseValues, tol);
    const decoded = decodePaperDelta(blob, baseValues);
    if (dtype !== 'F32') for (let i = 0; i < decoded.length; i++) decoded[i] = roundTo(dtype, decoded[i]!);
    const maxError = this.checkBound(t, x, decoded);
    const parts: PayloadParts = {
      kind: RecordKind.Tensor, codec: Codec.PaperDelta, identity, check: exactIdentity(RecordKind.Tensor, bytesOf(decoded, dtype)),
      base: { key: base.key, view: 'F32', depth: 1 }, body: blob,
    };
    return { storedAs, parts, maxError, newBase8 };
  }

  private checkBound(t: TensorInput, x: Float32Array, decoded: Float32Array): number {
    const err = maxAbsError(x, decoded);
    if (!(err <= this.tolerance)) {
      throw new NeurStoreError('INVALID_ARGUMENT', `tensor '${t.name}': the ${this.mode} codec missed the bound (${err} > ${this.tolerance})`);
    }
    return err;
  }
}
