/**
 * Turns records back into bytes: the inverse of every codec the store writes, with each decoded tensor
 * checked against its digest (identity for exact records, check for lossy ones) so a codec bug or a bad base
 * can never hand out wrong bytes. Decoded bases are kept in a small LRU cache, so a family's next fine-tune
 * decodes only its own delta.
 */
import { decompress } from 'zstd-napi';
import { corruption } from '../errors.js';
import { dequantize8, type Quant8 } from '../codecs/quant8.js';
import { decodeLossless } from '../codecs/lossless.js';
import { decodeGroupDelta } from '../codecs/group-delta.js';
import { decodePaperDelta } from '../codecs/paper-delta.js';
import type { FloatDType } from '../codecs/float-ulp.js';
import { roundTo } from '../codecs/half-float.js';
import type { ContentStore } from './content-store.js';
import { Codec, RecordKind, exactIdentity, sameDigest, type BaseView, type PayloadHeader } from './record-payload.js';
import { bytesOf, isFloatDType, valuesOf } from './tensor-values.js';

/** Default memory budget of decoded bases. */
export const BASE_CACHE_BYTES = 256 * 1024 * 1024;

export class TensorDecoder {
  private readonly cache = new Map<string, Float32Array | Uint8Array>();
  private cachedBytes = 0;

  constructor(
    private readonly content: ContentStore,
    private readonly cacheBytes = BASE_CACHE_BYTES,
  ) {}

  /** The exact bytes a tensor record stands for, in `dtype` (the catalog's dtype of the tensor). */
  async tensorBytes(key: bigint, dtype: string, kind = RecordKind.Tensor): Promise<Uint8Array> {
    const { header, body } = await this.content.read(key);
    const where = `record ${key.toString(16)}`;
    if (header.kind !== kind) throw corruption(where, 1, `record holds kind ${header.kind}, expected ${kind}`);
    const bytes = await this.decodeBody(header, body, dtype, where);
    const expect = header.check ?? header.identity;
    if (!sameDigest(exactIdentity(kind, bytes), expect)) throw corruption(where, 4, 'decoded bytes do not match their SHA-256 digest');
    return bytes;
  }

  private async decodeBody(h: PayloadHeader, body: Uint8Array, dtype: string, where: string): Promise<Uint8Array> {
    try {
      switch (h.codec) {
        case Codec.Raw:
          return body;
        case Codec.Zstd:
          return decompress(body);
        case Codec.Lossless:
          return decodeLossless(body, h.base ? ((await this.base(h.base.key, 'bytes')) as Uint8Array) : null);
        case Codec.GroupDelta: {
          const base = h.base ? ((await this.base(h.base.key, h.base.view)) as Float32Array) : null;
          const d = decodeGroupDelta(body, base);
          return bytesOf(d.values, d.dtype);
        }
        case Codec.PaperDelta: {
          if (!h.base || !isFloatDType(dtype)) throw corruption(where, 2, 'paper delta without a base or for a non-float tensor');
          const x = decodePaperDelta(body, (await this.base(h.base.key, 'base8')) as Float32Array);
          return bytesOf(roundAll(x, dtype), dtype);
        }
        default:
          throw corruption(where, 2, `unknown codec ${h.codec}`);
      }
    } catch (e) {
      if (e instanceof Error && (e as { code?: string }).code === 'INVALID_ARGUMENT') throw corruption(where, h.headerBytes, e.message);
      throw e;
    }
  }

  /**
   * A base's decoded form: its bytes ('bytes'), its values read as a float dtype, or a paper 8-bit base
   * dequantized ('base8'). Cached under the memory budget, least recently used first out.
   */
  async base(key: bigint, view: BaseView | 'base8'): Promise<Float32Array | Uint8Array> {
    const id = `${key}:${view}`;
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    let value: Float32Array | Uint8Array;
    if (view === 'base8') {
      value = dequantize8(await this.base8(key));
    } else {
      const bytes = await this.tensorBytes(key, view === 'bytes' ? 'U8' : view);
      value = view === 'bytes' ? bytes : valuesOf(bytes, view);
    }
    this.remember(id, value);
    return value;
  }

  /** A paper 8-bit base record, as stored. */
  async base8(key: bigint): Promise<Quant8> {
    const { header, body } = await this.content.read(key);
    const where = `record ${key.toString(16)}`;
    if (header.kind !== RecordKind.Base8 || header.codec !== Codec.Quant8) throw corruption(where, 1, 'not an 8-bit base');
    const q = decodeQuant8(body);
    if (!sameDigest(exactIdentity(RecordKind.Base8, body), header.identity)) throw corruption(where, 4, '8-bit base does not match its digest');
    return q;
  }

  /** Empties the cache (after an aborted write, whose primed records no longer exist). */
  clear(): void {
    this.cache.clear();
    this.cachedBytes = 0;
  }

  /** Puts the values a writer just encoded into the cache, as `base(key, view)` would decode them. */
  prime(key: bigint, view: FloatDType, values: Float32Array): void {
    const id = `${key}:${view}`;
    if (!this.cache.has(id)) this.remember(id, values);
  }

  private remember(id: string, value: Float32Array | Uint8Array): void {
    if (value.byteLength > this.cacheBytes) return;
    this.cache.set(id, value);
    this.cachedBytes += value.byteLength;
    for (const [k, v] of this.cache) {
      if (this.cachedBytes <= this.cacheBytes) break;
      this.cache.delete(k);
      this.cachedBytes -= v.byteLength;
    }
  }
}

function roundAll(x: Float32Array, dtype: FloatDType): Float32Array {
  if (dtype === 'F32') return x;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = roundTo(dtype, x[i]!);
  return out;
}

/** quant8 record body := min:f32 | scale:f32 | codes. */
export function encodeQuant8(q: Quant8): Uint8Array {
  const out = Buffer.allocUnsafe(8 + q.codes.length);
  out.writeFloatLE(q.min, 0);
  out.writeFloatLE(q.scale, 4);
  out.set(q.codes, 8);
  return out;
}

export function decodeQuant8(body: Uint8Array): Quant8 {
  const b = Buffer.from(body.buffer, body.byteOffset, body.length);
  return { min: b.readFloatLE(0), scale: b.readFloatLE(4), codes: body.subarray(8) };
}
