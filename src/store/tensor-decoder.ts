/**
 * Turns records back into bytes: the inverse of every codec the store writes, with each decoded tensor
 * checked against its digest (identity for exact records, check for lossy ones) so a codec bug or a bad base
 * can never hand out wrong bytes. Bodies decode on the runtime's decode pool (both cores busy on large
 * tensors); decoded bases go to the shared-base cache, so a family's next fine-tune decodes only its delta.
 */
import { corruption } from '../errors.js';
import { dequantize8, type Quant8 } from '../codecs/quant8.js';
import type { FloatDType } from '../codecs/float-ulp.js';
import { BaseCache } from '../runtime/base-cache.js';
import { DecodePool } from '../runtime/decode-pool.js';
import { shared, type BodyCodec } from '../runtime/body-decoder.js';
import type { ContentStore } from './content-store.js';
import { Codec, RecordKind, exactIdentity, sameDigest, type BaseView, type PayloadHeader } from './record-payload.js';
import { valuesOf } from './tensor-values.js';

const BODY_CODECS: Partial<Record<Codec, BodyCodec>> = {
  [Codec.Raw]: 'raw',
  [Codec.Zstd]: 'zstd',
  [Codec.Lossless]: 'lossless',
  [Codec.GroupDelta]: 'group-delta',
  [Codec.PaperDelta]: 'paper-delta',
};

export class TensorDecoder {
  constructor(
    private readonly content: ContentStore,
    readonly cache = new BaseCache(),
    readonly pool = new DecodePool(),
  ) {}

  /** The exact bytes a tensor record stands for, in `dtype` (the catalog's dtype of the tensor). */
  async tensorBytes(key: bigint, dtype: string, kind = RecordKind.Tensor): Promise<Uint8Array> {
    const { header, body } = await this.content.read(key);
    const where = `record ${key.toString(16)}`;
    if (header.kind !== kind) throw corruption(where, 1, `record holds kind ${header.kind}, expected ${kind}`);
    const codec = BODY_CODECS[header.codec];
    if (!codec) throw corruption(where, 2, `unknown codec ${header.codec}`);
    const base = await this.baseOf(header, codec);
    // A copy: the pool may move the record's buffer (which the header's digests view) to a worker.
    const expected = Uint8Array.from(header.check ?? header.identity); // not .slice(): on a Buffer that is a view
    let decoded;
    try {
      decoded = await this.pool.decode({ codec, body, base, dtype, digestPrefix: kind }, true);
    } catch (e) {
      if ((e as { code?: string }).code === 'INVALID_ARGUMENT') throw corruption(where, header.headerBytes, (e as Error).message);
      throw e;
    }
    if (!decoded.digest || !sameDigest(decoded.digest, expected)) {
      throw corruption(where, 4, 'decoded bytes do not match their SHA-256 digest');
    }
    return decoded.bytes;
  }

  private async baseOf(h: PayloadHeader, codec: BodyCodec): Promise<Float32Array | Uint8Array | null> {
    if (!h.base) return null;
    if (codec === 'lossless') return this.base(h.base.key, 'bytes');
    if (codec === 'paper-delta') return this.base(h.base.key, 'base8');
    return this.base(h.base.key, h.base.view);
  }

  /**
   * A base's decoded form: its bytes ('bytes'), its values read as a float dtype, or a paper 8-bit base
   * dequantized ('base8'). Cached in the shared-base cache; read-only.
   */
  async base(key: bigint, view: BaseView | 'base8'): Promise<Float32Array | Uint8Array> {
    return this.cache.getOrLoad(`${key}:${view}`, async () => {
      if (view === 'base8') {
        const q = await this.base8(key);
        return dequantize8(q, new Float32Array(new SharedArrayBuffer(q.codes.length * 4)));
      }
      const bytes = await this.tensorBytes(key, view === 'bytes' ? 'U8' : view);
      if (view === 'bytes') return bytes;
      if (view === 'F32' && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      return shared(valuesOf(bytes, view));
    });
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
  }

  /** Puts the values a writer just encoded into the cache, as `base(key, view)` would decode them. */
  prime(key: bigint, view: FloatDType, values: Float32Array): void {
    const id = `${key}:${view}`;
    if (this.cache.get(id) === undefined) this.cache.set(id, shared(values));
  }

  /** Stops the decode workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
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
