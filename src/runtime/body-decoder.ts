/**
 * Decoding of one record body, the CPU-heavy half of every load: the same pure function runs inline on the
 * caller's thread and in the decode workers. Results are written to SharedArrayBuffer memory so they can be
 * cached as bases and handed to other workers without copying, or (`owned`) to ordinary memory that a worker
 * hands back by transfer, for bytes used once (streamed chunks). The digest (SHA-256 over a one-byte prefix
 * and the decoded bytes, the store's record identity) is computed where the bytes were made, when asked.
 */
import { decompress } from 'zstd-napi';
import { prefixedSha256 } from '../codecs/prefixed-digest.js';
import { decodeLossless, decodeLosslessChain, losslessInfo } from '../codecs/lossless.js';
import { decodeGroupDeltaBytes, groupDeltaInfo } from '../codecs/group-delta.js';
import { decodePaperDelta, paperDeltaInfo } from '../codecs/paper-delta.js';
import { roundTo, toDTypeBytes } from '../codecs/half-float.js';
import type { FloatDType } from '../codecs/float-ulp.js';
import { invalidArgument } from '../errors.js';

export type BodyCodec = 'raw' | 'zstd' | 'lossless' | 'group-delta' | 'paper-delta';

export interface DecodeJob {
  readonly codec: BodyCodec;
  readonly body: Uint8Array;
  /**
   * Bytes (lossless XOR base) or values (delta codecs) the body decodes against; a group delta of F16/BF16
   * values also takes its base as 16-bit patterns.
   */
  readonly base: Uint8Array | Uint16Array | Float32Array | null;
  /**
   * Lossless bodies: instead of `base`, the lossless bodies of the base's chain, root first, decoded here with
   * the body (see `decodeLosslessChain`): a chunk and its base chunk in one job, with no base buffer made,
   * moved or collected for each chunk.
   */
  readonly baseChain?: readonly Uint8Array[];
  /** Output dtype of the paper delta (its values are rounded to it). */
  readonly dtype: string;
  /** Prefix byte of the digest (the record kind). */
  readonly digestPrefix: number;
  /** False skips the SHA-256 (the record's CRC was checked when it was read); default true. */
  readonly digest?: boolean;
  /** True: the bytes go to ordinary memory, a buffer of their own (a worker transfers it back). */
  readonly owned?: boolean;
  /**
   * Owned jobs: memory to decode into, so a caller can recycle output buffers instead of having every chunk
   * fault in fresh pages (the result's `bytes` is then a view of `into` from offset 0, of the decoded length;
   * `into` may be longer). `DecodePool.decode` moves an ArrayBuffer to the worker with the job (the caller
   * gives it up) and it comes back as `result.bytes.buffer`; shared memory is posted as it is. Used by lossless
   * and 16-bit group-delta bodies when it is long enough; otherwise the result has a fresh buffer (and `into`
   * is dropped).
   */
  readonly into?: ArrayBufferLike;
  /**
   * On a worker: move the buffers of `body` and `baseChain` back with the result (`DecodeResult.bodies`), for
   * the caller to read later records into, instead of leaving them to this thread's collector.
   */
  readonly handBack?: boolean;
}

export interface DecodeResult {
  /** Decoded bytes: in SharedArrayBuffer memory, or (`owned` jobs) an ArrayBuffer of their own. */
  readonly bytes: Uint8Array;
  /** SHA-256 of the digest prefix and the bytes; null when the job asked for none. */
  readonly digest: Uint8Array | null;
  /** `handBack` jobs decoded on a worker: the buffers of the bodies, moved back. */
  readonly bodies?: readonly ArrayBuffer[];
}

export function decodeBody(job: DecodeJob): DecodeResult {
  const bytes = job.owned ? owned(decodeBytes(job), job.into) : shared(decodeBytes(job));
  const digest = job.digest === false ? null : new Uint8Array(prefixedSha256(job.digestPrefix, bytes));
  return { bytes, digest };
}

function decodeBytes({ codec, body, base, baseChain, dtype, owned: own, into }: DecodeJob): Uint8Array {
  // Memory to decode into: `into` when the job is owned and it is long enough.
  const target = (n: number): Uint8Array => (own && into && into.byteLength >= n ? new Uint8Array(into, 0, n) : own ? new Uint8Array(n) : new Uint8Array(new SharedArrayBuffer(n)));
  switch (codec) {
    case 'raw':
      return body;
    case 'zstd':
      return decompress(body);
    case 'lossless': // decoded straight into the memory the result lives in (no copy afterwards)
      return baseChain ? decodeLosslessChain([...baseChain, body], target) : decodeLossless(body, base as Uint8Array | null, target);
    case 'group-delta': // straight to the dtype's bytes (16-bit patterns for F16/BF16, no float32 pass)
      return decodeGroupDeltaBytes(body, base as Float32Array | Uint16Array | null, own && into ? (n) => target(n) : undefined).bytes;
    case 'paper-delta': {
      if (!base || !(dtype === 'F32' || dtype === 'F16' || dtype === 'BF16')) {
        throw invalidArgument('paper delta without a base or for a non-float tensor');
      }
      const x = decodePaperDelta(body, base as Float32Array);
      if (dtype === 'F32') return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
      for (let i = 0; i < x.length; i++) x[i] = roundTo(dtype as FloatDType, x[i]!);
      return toDTypeBytes(x, dtype as FloatDType);
    }
  }
}

/**
 * The bytes `job` decodes to, from its codec's header (the pool sizes work by it: a group-delta body is a
 * fraction of what it decodes to). Falls back to the body's length when the header is unreadable; decoding
 * then reports what is wrong with it.
 */
export function decodedBytes(job: DecodeJob): number {
  try {
    switch (job.codec) {
      case 'lossless':
        return losslessInfo(job.body).length;
      case 'group-delta': {
        const { dtype, count } = groupDeltaInfo(job.body);
        return count * (dtype === 'F32' ? 4 : 2);
      }
      case 'paper-delta':
        return paperDeltaInfo(job.body).count * 4;
      default:
        return job.body.length;
    }
  } catch {
    return job.body.length;
  }
}

/**
 * `bytes` itself when it is the whole of an ordinary ArrayBuffer (transferable alone) or a view of the job's
 * `into` from its start, else a copy that is.
 */
function owned(bytes: Uint8Array, into?: ArrayBufferLike): Uint8Array {
  const b = bytes.buffer;
  if (b === into && bytes.byteOffset === 0) return bytes;
  if (b instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === b.byteLength) return bytes;
  return new Uint8Array(bytes);
}

/**
 * `bytes` itself when it already lives in shared memory, else a copy there, of the same class. A Buffer (what
 * file reads and zstd-napi return) is copied with `Buffer.from`: calling its constructor, `new Buffer(memory)`,
 * is deprecated (DEP0005) and would print a warning on every `get`.
 */
export function shared<T extends Uint8Array | Float32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const memory = new SharedArrayBuffer(a.byteLength);
  const out = (Buffer.isBuffer(a) ? Buffer.from(memory) : new (a.constructor as new (b: SharedArrayBuffer) => T)(memory)) as T;
  out.set(a as never);
  return out;
}
