/**
 * One small interface over the byte entropy coders the codecs use, so a codec records a coder id and the
 * choice of coder is a measurement, not a code change. Two coders: zstd (native, through zstd-napi) and our
 * order-0 rANS (pure TS). Both are self-delimiting: a blob decodes alone, and decoding checks the length.
 */
import { compress, decompress } from 'zstd-napi';
import { invalidArgument } from '../errors.js';
import { ransDecode, ransEncode } from './rans-coder.js';

/** A lossless byte coder. `encode` never modifies its input; both return new arrays the caller owns. */
export interface EntropyCoder {
  /** Stable id stored in encoded blobs (never reuse a number). */
  readonly id: number;
  readonly name: string;
  encode(input: Uint8Array): Uint8Array;
  /** Decodes and checks the result has `expectedLength` bytes; throws INVALID_ARGUMENT otherwise. */
  decode(blob: Uint8Array, expectedLength: number): Uint8Array;
}

/** Id 0: bytes stored as they are (for incompressible planes). */
export const RAW_CODER: EntropyCoder = {
  id: 0,
  name: 'raw',
  encode: (input) => input.slice(),
  decode: (blob, expectedLength) => checkLength('raw', blob.slice(), expectedLength),
};

/** Id 1: order-0 static rANS (see rans-coder.ts). */
export const RANS_CODER: EntropyCoder = {
  id: 1,
  name: 'rans',
  encode: ransEncode,
  decode: (blob, expectedLength) => checkLength('rans', ransDecode(blob), expectedLength),
};

/**
 * zstd at `level` (default 3). On quantized codes level 19 is 0-17% smaller than level 3 but encodes ~50x
 * slower, so level 3 is the default and 19 is for offline recompression.
 */
export function zstdCoder(level = 3): EntropyCoder {
  return {
    id: 2,
    name: `zstd-${level}`,
    encode: (input) => new Uint8Array(compress(input, { compressionLevel: level })),
    decode: (blob, expectedLength) => {
      let out: Buffer;
      try {
        out = decompress(blob);
      } catch (e) {
        throw invalidArgument(`zstd block is malformed: ${(e as Error).message}`, e);
      }
      return checkLength('zstd', new Uint8Array(out.buffer, out.byteOffset, out.byteLength), expectedLength);
    },
  };
}

/** Id 2: zstd level 3. The level only matters when encoding, so one id serves every level. */
export const ZSTD_CODER: EntropyCoder = zstdCoder(3);

function checkLength(name: string, out: Uint8Array, expected: number): Uint8Array {
  if (out.length !== expected) {
    throw invalidArgument(`${name} block decodes to ${out.length} bytes, expected ${expected}`);
  }
  return out;
}

/** The coder stored under `id`; throws INVALID_ARGUMENT for an unknown id. */
export function entropyCoderById(id: number): EntropyCoder {
  if (id === RAW_CODER.id) return RAW_CODER;
  if (id === RANS_CODER.id) return RANS_CODER;
  if (id === ZSTD_CODER.id) return ZSTD_CODER;
  throw invalidArgument(`unknown entropy coder id ${id}`);
}

/**
 * Encodes with each coder in `coders` and keeps the smallest result (ties go to the earlier coder), falling
 * back to raw. Deterministic for deterministic coders. Returns the coder id and the encoded bytes.
 */
export function encodeSmallest(
  input: Uint8Array,
  coders: readonly EntropyCoder[],
): { coder: number; bytes: Uint8Array } {
  let best = { coder: RAW_CODER.id, bytes: input };
  for (const c of coders) {
    const bytes = c.encode(input);
    if (bytes.length < best.bytes.length) best = { coder: c.id, bytes };
  }
  return best;
}
