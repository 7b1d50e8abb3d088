/**
 * One small interface over the byte entropy coders the codecs use, so a codec records a coder id and the
 * choice of coder is a measurement, not a code change. Coders: raw, our order-0 rANS (wasm decoder), zstd
 * (native, through zstd-napi; at a fast setting its Huffman literal coder does the work on byte planes) and
 * the sparse coder (sparse-coder.ts: a bitmap of the bytes that differ from the plane's dominant byte, and
 * those bytes, each zstd-coded; for planes Huffman codes badly because one byte value dominates) and rANS of
 * symbol pairs (small codes, such as a fine-tune's quantized deltas, two to a byte). All are self-delimiting: a blob decodes alone, says how many bytes it decodes to, and decoding checks that length.
 */
import { createRequire } from 'node:module';
import { invalidArgument } from '../errors.js';
import { ByteReader, ByteWriter, concatInto } from './byte-io.js';
import { ransDecode, ransEncode } from './rans-coder.js';
import { CODED_SCRATCH, ScratchBuffer } from './scratch-buffer.js';
import { copyBytes } from './shared-copy.js';
import { decodeSparse, dominantByte, encodeSparse, sparseLength } from './sparse-coder.js';

/** zstd-napi's low-level binding (contexts that can be reused, decompression into a caller's buffer). */
const zstd = createRequire(import.meta.url)('zstd-napi/binding') as typeof import('zstd-napi/binding.js');

/** A lossless byte coder. `encode` never modifies its input; both return new arrays the caller owns. */
export interface EntropyCoder {
  /** Stable id stored in encoded blobs (never reuse a number). */
  readonly id: number;
  readonly name: string;
  encode(input: Uint8Array): Uint8Array;
  /** Decodes and checks the result has `expectedLength` bytes; throws INVALID_ARGUMENT otherwise. */
  decode(blob: Uint8Array, expectedLength: number): Uint8Array;
  /** Decodes into `out`, which must be exactly the decoded length; throws INVALID_ARGUMENT otherwise. */
  decodeInto(blob: Uint8Array, out: Uint8Array): void;
  /** The length `blob` says it decodes to (from its header, without decoding); INVALID_ARGUMENT if unreadable. */
  decodedLength(blob: Uint8Array): number;
}

/** A coder from its decodeInto and decodedLength: `decode` allocates the (checked) length and fills it. */
function coder(c: Omit<EntropyCoder, 'decode'>): EntropyCoder {
  return {
    ...c,
    decode(blob, expectedLength) {
      const n = c.decodedLength(blob);
      if (n !== expectedLength) throw invalidArgument(`${c.name} block decodes to ${n} bytes, expected ${expectedLength}`);
      const out = new Uint8Array(n);
      c.decodeInto(blob, out);
      return out;
    },
  };
}

/** Id 0: bytes stored as they are (for incompressible planes). */
export const RAW_CODER: EntropyCoder = coder({
  id: 0,
  name: 'raw',
  encode: (input) => input.slice(),
  decodeInto: (blob, out) => {
    if (blob.length !== out.length) throw invalidArgument(`raw block holds ${blob.length} bytes, expected ${out.length}`);
    copyBytes(out, blob);
  },
  decodedLength: (blob) => blob.length,
});

/** Id 1: order-0 static rANS (see rans-coder.ts). */
export const RANS_CODER: EntropyCoder = coder({
  id: 1,
  name: 'rans',
  encode: ransEncode,
  decodeInto: (blob, out) => {
    ransDecode(blob, out);
  },
  decodedLength: (blob) => {
    const r = new ByteReader(blob, 'rANS block');
    r.u8();
    return r.varint();
  },
});

/** zstd compression settings: a level, optionally with a strategy and match parameters (zstd's own names). */
export interface ZstdSettings {
  readonly level: number;
  readonly strategy?: 'fast' | 'dfast' | 'greedy' | 'lazy' | 'lazy2' | 'btlazy2' | 'btopt' | 'btultra' | 'btultra2';
  readonly minMatch?: number;
  readonly hashLog?: number;
  /** For the fast strategy: how far the match finder strides (zstd's "acceleration"); literals stay Huffman-coded. */
  readonly targetLength?: number;
}

/**
 * The plane setting: zstd's fastest strategy with 7-byte minimum matches and a 1 K-entry hash table, striding
 * ahead faster where it finds no match (`targetLength` 16), so its Huffman literal coder does most of the work:
 * byte planes hold few repeats, and looking for them at every position cost a lossless put ~11% of its CPU
 * (`ZSTD_compressBlock_fast`). On 30 exponent planes of the 1 GB bf16 model: 34.1% of the plane (34.5% trying
 * every position, 36.9% at level 1, 42.4% at level 3; rANS 33.5%), encoding at ~960 MB/s (~500 trying every
 * position) and decoding at ~2.4 GB/s (1.8). The stride 16 keeps the real fixtures' size (136.16 MB against
 * 136.12, bench:codecs); longer strides lost up to 0.2% there. zstd turns Huffman literals off when the fast
 * strategy strides, unless told not to (below).
 */
export const ZSTD_PLANE: ZstdSettings = { level: 1, strategy: 'fast', minMatch: 7, hashLog: 10, targetLength: 16 };

/**
 * zstd's ZSTD_c_literalCompressionMode (ZSTD_c_experimentalParam5 in zstd.h, 1002 in the zstd that zstd-napi
 * bundles; its binding sets any parameter by number) and ZSTD_ps_enable: Huffman-code literals whatever the
 * strategy. A test checks the plane setting still shrinks a plane, so a zstd that numbered it otherwise would
 * show.
 */
const LITERAL_COMPRESSION_MODE = 1002;
const PS_ENABLE = 1;

/** One compression context per setting and thread, reused (creating one per call costs more than a small plane). */
const cctxs = new Map<string, InstanceType<typeof zstd.CCtx>>();
let dctx: InstanceType<typeof zstd.DCtx> | undefined;

function cctxFor(s: ZstdSettings): InstanceType<typeof zstd.CCtx> {
  const id = JSON.stringify(s);
  let c = cctxs.get(id);
  if (!c) {
    c = new zstd.CCtx();
    const P = zstd.CParameter;
    c.setParameter(P.compressionLevel, s.level);
    if (s.strategy) c.setParameter(P.strategy, zstd.Strategy[s.strategy]);
    if (s.minMatch) c.setParameter(P.minMatch, s.minMatch);
    if (s.hashLog) c.setParameter(P.hashLog, s.hashLog);
    if (s.targetLength) {
      c.setParameter(P.targetLength, s.targetLength);
      c.setParameter(LITERAL_COMPRESSION_MODE as never, PS_ENABLE);
    }
    cctxs.set(id, c);
  }
  return c;
}

/**
 * One zstd frame of `input` (content size recorded) under settings `s`: in CODED_SCRATCH's region while it runs
 * (no copy), else fresh memory (copied from scratch into memory not zeroed first: slice() zero-filled every
 * plane's output before copying it, ~4% of a lossless fine-tune's put).
 */
export function zstdCompress(input: Uint8Array, s: ZstdSettings): Uint8Array {
  return CODED_SCRATCH.fill(zstd.compressBound(input.length), (dst) => cctxFor(s).compress2(dst, input));
}

/**
 * A zstd coder compressing with `settings` (default level 3). Every setting is stored under id 2: the
 * settings only matter when encoding. Decoding writes into the caller's buffer and never allocates what a
 * frame header claims, so a corrupted frame cannot ask for gigabytes.
 */
export function zstdCoder(settings: ZstdSettings | number = 3): EntropyCoder {
  const s = typeof settings === 'number' ? { level: settings } : settings;
  const name = `zstd-${s.level}${s.strategy ? `-${s.strategy}` : ''}${s.minMatch ? `-mm${s.minMatch}` : ''}`;
  return coder({
    id: 2,
    name,
    encode: (input) => zstdCompress(input, s),
    decodeInto: (blob, out) => {
      let n: number;
      try {
        dctx ??= new zstd.DCtx();
        n = dctx.decompress(out, blob);
      } catch (e) {
        throw invalidArgument(`zstd block is malformed: ${(e as Error).message}`, e);
      }
      if (n !== out.length) throw invalidArgument(`zstd block decodes to ${n} bytes, expected ${out.length}`);
    },
    decodedLength: (blob) => {
      let n: number | null;
      try {
        n = zstd.getFrameContentSize(blob);
      } catch (e) {
        throw invalidArgument(`zstd block is malformed: ${(e as Error).message}`, e);
      }
      if (n === null) throw invalidArgument('zstd block does not record its length');
      return n;
    },
  });
}

/** Id 2: zstd level 3. The level only matters when encoding, so one id serves every level. */
export const ZSTD_CODER: EntropyCoder = zstdCoder(3);
/** Id 2 at the plane setting (ZSTD_PLANE): what the lossless codec uses on large planes. */
export const ZSTD_PLANE_CODER: EntropyCoder = zstdCoder(ZSTD_PLANE);

/** How the sparse coder codes its two parts: ZSTD_PLANE_CODER, or raw when that is not smaller. */
export const encodeSparsePart = (part: Uint8Array): { coder: number; bytes: Uint8Array } => encodeSmallest(part, [ZSTD_PLANE_CODER]);

/** Id 3: the sparse coder (sparse-coder.ts) against the plane's most frequent byte, parts by encodeSparsePart. */
export const SPARSE_CODER: EntropyCoder = coder({
  id: 3,
  name: 'sparse',
  encode: (input) => encodeSparse(input, dominantByte(input).value, encodeSparsePart),
  decodeInto: (blob, out) => decodeSparse(blob, out, (id, part, into) => entropyCoderById(id).decodeInto(part, into)),
  decodedLength: sparseLength,
});

const pairScratch = new ScratchBuffer();

/**
 * Id 4: order-0 rANS over pairs of symbols, when every symbol is under 16 (mode 1: two to a byte, the first in
 * the low nibble; an odd last symbol alone), else over the symbols (mode 0). A pair's byte carries the joint
 * statistics of two symbols, so it codes no larger than rANS over the symbols, with half the symbols to code:
 * on the codes of an 8 MiB bf16 fine-tune chunk (tolerance 1e-3, 1.2 bits a code) 639,138 bytes against
 * 639,081, encoding in 22 ms against 38 and decoding in 15 ms against 33 (before unpacking).
 *   blob := mode:u8 symbols:varint rans-blob (of ceil(symbols / 2) bytes in mode 1, `symbols` in mode 0)
 */
export const RANS_PAIRS_CODER: EntropyCoder = coder({
  id: 4,
  name: 'rans-pairs',
  encode: (input) => {
    const n = input.length;
    const pairs = pairScratch.get((n + 1) >> 1);
    const mode = packPairs(input, pairs) < 16 ? 1 : 0;
    const head = new ByteWriter().u8(mode).varint(n).finish();
    const body = ransEncode(mode === 1 ? pairs : input);
    return CODED_SCRATCH.fill(head.length + body.length, (out) => concatInto([head, body], out));
  },
  decodeInto: (blob, out) => {
    const r = new ByteReader(blob, 'rANS pairs block');
    const mode = r.u8();
    const n = r.varint();
    if (n !== out.length) r.fail(`decodes to ${n} bytes, expected ${out.length}`);
    if (mode === 0) return void ransDecode(r.bytes(r.remaining), out);
    if (mode !== 1) r.fail(`unknown mode ${mode}`);
    const pairs = ransDecode(r.bytes(r.remaining), pairScratch.get((n + 1) >> 1));
    if (n % 2 === 1 && pairs[n >> 1]! >> 4 !== 0) r.fail('odd last symbol has a partner');
    unpackPairs(pairs, out);
  },
  decodedLength: (blob) => {
    const r = new ByteReader(blob, 'rANS pairs block');
    r.u8();
    return r.varint();
  },
});

/**
 * Packs `input` two symbols to a byte into `pairs` (ceil(n / 2) bytes; symbols are truncated to 4 bits) and
 * returns the OR of all symbols (under 16 when the packing is exact). Four symbols a step through 32-bit
 * views when both arrays are aligned to them (a byte loop cost 2 s of a 1 GB default-mode put).
 */
function packPairs(input: Uint8Array, pairs: Uint8Array): number {
  const n = input.length;
  let seen = 0;
  let i = 0;
  if (input.byteOffset % 4 === 0 && pairs.byteOffset % 2 === 0) {
    const words = new Uint32Array(input.buffer, input.byteOffset, n >> 2);
    const out = new Uint16Array(pairs.buffer, pairs.byteOffset, n >> 2);
    for (let k = 0; k < words.length; k++) {
      const w = words[k]!;
      seen |= w;
      out[k] = (w & 0xf) | ((w >>> 4) & 0xf0) | ((w >>> 8) & 0xf00) | ((w >>> 12) & 0xf000);
    }
    i = 4 * words.length;
    seen = (seen | (seen >>> 8) | (seen >>> 16) | (seen >>> 24)) & 0xff;
  }
  for (; i < n; i += 2) {
    const a = input[i]!;
    const b = i + 1 < n ? input[i + 1]! : 0;
    seen |= a | b;
    pairs[i >> 1] = (a & 15) | ((b & 15) << 4);
  }
  return seen;
}

/** The symbols of `pairs` (made by packPairs) into `out` (its length says how many). */
function unpackPairs(pairs: Uint8Array, out: Uint8Array): void {
  const n = out.length;
  let i = 0;
  if (out.byteOffset % 4 === 0 && pairs.byteOffset % 2 === 0) {
    const halves = new Uint16Array(pairs.buffer, pairs.byteOffset, n >> 2);
    const words = new Uint32Array(out.buffer, out.byteOffset, n >> 2);
    for (let k = 0; k < words.length; k++) {
      const h = halves[k]!;
      words[k] = (h & 0xf) | ((h & 0xf0) << 4) | ((h & 0xf00) << 8) | ((h & 0xf000) << 12);
    }
    i = 4 * words.length;
  }
  for (; i < n; i++) out[i] = i % 2 === 0 ? pairs[i >> 1]! & 15 : pairs[i >> 1]! >> 4;
}

/** The coder stored under `id`; throws INVALID_ARGUMENT for an unknown id. */
export function entropyCoderById(id: number): EntropyCoder {
  if (id === RAW_CODER.id) return RAW_CODER;
  if (id === RANS_CODER.id) return RANS_CODER;
  if (id === ZSTD_CODER.id) return ZSTD_CODER;
  if (id === SPARSE_CODER.id) return SPARSE_CODER;
  if (id === RANS_PAIRS_CODER.id) return RANS_PAIRS_CODER;
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
