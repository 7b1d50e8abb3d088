/**
 * The `lossless` mode codec: bit-exact. The tensor's bytes, optionally XORed with a base tensor's bytes
 * (similar floats share sign, exponent and high mantissa bits, so the XOR is mostly zero bytes) or, for 1-byte
 * elements, minus the base's bytes (uint8-quantized codes of a fine-tune sit a few steps from its base's;
 * on the face-api landmark -> expression pair this cuts the expression model's order-0 entropy by 16%), are split
 * into byte planes (ZipNN-style: byte k of every element together, so exponent bytes and noisy mantissa
 * bytes get separate statistics), and each plane is coded on its own.
 * Works for any element width (1, 2, 4, 8 bytes); NaN payloads, infinities and -0 round-trip exactly.
 * No checksum here: the storage engine checksums every record; decoding checks structure and plane lengths
 * (and rANS checks its final state), throwing INVALID_ARGUMENT.
 *
 * Coders, chosen by measurement (bench/codecs.bench.ts, README "Lossless codec"): by default a large plane is
 * stored raw when its sampled byte entropy says nothing can shrink it, coded with the sparse coder when one
 * byte value dominates it, else with zstd at its plane setting (ZSTD_PLANE: Huffman literals, few matches):
 * ~1.5 GB/s to decode a plane, within ~1% of rANS's size. Small planes (<= 64 KiB) take the smaller of rANS
 * and zstd -3, as before. `effort: 'max'` tries every coder on every plane and keeps the smallest (rANS wins
 * most planes by 1-3%, and decodes 4x slower).
 *
 * Byte layout (varint = unsigned LEB128):
 *   blob   := magic:u8=0xD3 version:u8=3 width:u8 baseOp:u8 length:varint plane[width]
 *   baseOp := 0 no base | 1 XOR with the base's bytes | 2 minus the base's bytes, mod 256 (width 1 only)
 *   plane  := coder:u8 encoded:varint-length-prefixed bytes      (decodes to length / width bytes)
 *   coder  := 0 raw | 1 rANS | 2 zstd | 3 sparse (version 3 only)
 * Decoding: merge the planes, then undo baseOp (XOR, or add the base's bytes mod 256); a chain of XOR blobs of
 * one width is decoded, and coded against, as planes (`decodeLosslessChain`). Version 3 added the
 * sparse coder; version 2 blobs (coders 0-2, written before it) still decode; version 1 is no longer read.
 */
import { invalidArgument } from '../errors.js';
import { kernels } from '../kernels/kernels.js';
import { codecKernels, type PlaneArena } from '../kernels/codec-kernels.js';
import { ByteReader, ByteWriter, concatInto } from './byte-io.js';
import { CODED_SCRATCH, ScratchBuffer } from './scratch-buffer.js';
import {
  type EntropyCoder, RANS_CODER, RAW_CODER, SPARSE_CODER, ZSTD_CODER, ZSTD_PLANE_CODER, encodeSmallest, encodeSparsePart,
  entropyCoderById,
} from './entropy-coder.js';
import { encodeSparse } from './sparse-coder.js';

const MAGIC = 0xd3;
/** Written by this version; READABLE_VERSIONS are decoded. */
const VERSION = 3;
const READABLE_VERSIONS = [2, 3];

/** How the base is applied: the blob's baseOp byte. */
enum BaseOp {
  None = 0,
  Xor = 1,
  Subtract = 2,
}

/**
 * How hard the encoder works: 'default' picks each large plane's coder from its sampled statistics (fast to
 * encode and decode); 'max' codes every plane with every coder and keeps the smallest (rANS mostly: 1-3%
 * smaller planes, 4x slower decoding); 'rans' is the choice made before version 3 (rANS on every large
 * plane that is not screened out as random), kept to compare against.
 */
export type LosslessEffort = 'default' | 'max' | 'rans';

/** Options of `encodeLossless`. */
export interface LosslessOptions {
  readonly effort?: LosslessEffort;
  /** Coders tried on every plane (smallest wins, raw if none helps), overriding the effort's choice. */
  readonly coders?: readonly EntropyCoder[];
  /**
   * Memory for the blob, used when it is large enough: the blob is then a view at its start. A put recycles
   * written bodies this way (zeroing and faulting in fresh memory per chunk was ~6% of a lossless put's CPU).
   */
  readonly into?: ArrayBufferLike;
}

function checkWidth(width: number): void {
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) {
    throw invalidArgument(`element width must be 1, 2, 4 or 8 bytes, got ${width}`);
  }
}

/**
 * Encodes `bytes` (elements of `width` bytes, little-endian) exactly, against `base` (same length) when given:
 * XOR, or for 1-byte elements also subtraction, whichever codes smaller. Inputs are not modified. Throws
 * INVALID_ARGUMENT for a bad width, a length that is not a multiple of it, or a base of another length.
 */
export function encodeLossless(
  bytes: Uint8Array, width: number, base: Uint8Array | null = null, options: LosslessOptions = {},
  arena: PlaneArena = codecKernels().arena,
): Uint8Array {
  checkWidth(width);
  if (bytes.length % width !== 0) throw invalidArgument(`${bytes.length} bytes is not a whole number of ${width}-byte elements`);
  if (base && base.length !== bytes.length) throw invalidArgument(`base has ${base.length} bytes, tensor has ${bytes.length}`);
  // Byte planes split (XORed with the base) in the arena and coded from there: no trip through ordinary memory.
  const regions = width > 1 ? arena.reserve(bytes.length, base ? 3 : 2) : null;
  if (regions) {
    try {
      regions[1]!.set(bytes);
      if (base) regions[2]!.set(base);
      arena.split(width, base ? 'bytes' : null);
      return codePlanes(regions[0]!, width, base ? BaseOp.Xor : BaseOp.None, options);
    } finally {
      arena.release();
    }
  }
  if (!base) return encodeWith(bytes, width, BaseOp.None, options);
  const data = deltaScratch.get(bytes.length);
  kernels().xorBytes(bytes, base, data);
  let best = encodeWith(data, width, BaseOp.Xor, options);
  if (width === 1) {
    for (let i = 0; i < bytes.length; i++) data[i] = bytes[i]! - base[i]!; // Uint8Array stores it mod 256
    const sub = encodeWith(data, width, BaseOp.Subtract, options);
    if (sub.length < best.length) best = sub;
  }
  return best;
}

/** Intermediate buffers, reused (see ScratchBuffer): the bytes against a base, the byte planes. */
const deltaScratch = new ScratchBuffer();
const planeScratch = new ScratchBuffer();

function encodeWith(data: Uint8Array, width: number, op: BaseOp, options: LosslessOptions): Uint8Array {
  let planes = data;
  if (width > 1) {
    planes = planeScratch.get(data.length);
    kernels().splitPlanes(data, width, planes);
  }
  return codePlanes(planes, width, op, options);
}

/**
 * The blob of `planes` (`width` byte planes, in order), at the start of `options.into` when it is large enough,
 * else in a Buffer that is the whole of an ArrayBuffer of its own (a worker can transfer it): each plane's
 * coding is written straight into it, copied once.
 */
function codePlanes(planes: Uint8Array, width: number, op: BaseOp, options: LosslessOptions): Uint8Array {
  // The planes' coded bytes are cut from CODED_SCRATCH's region and copied into the body before this returns.
  return CODED_SCRATCH.run(() => assemblePlanes(planes, width, op, options));
}

function assemblePlanes(planes: Uint8Array, width: number, op: BaseOp, options: LosslessOptions): Uint8Array {
  const n = planes.length / width;
  const head = new ByteWriter().u8(MAGIC).u8(VERSION).u8(width).u8(op).varint(planes.length).finish();
  // Coders may return views of scratch memory or of `planes`: all are still valid here (each coder's scratch
  // is its own; the plane views live until the caller releases them).
  const parts: Uint8Array[] = [head];
  for (let p = 0; p < width; p++) {
    const enc = encodePlane(planes.subarray(p * n, (p + 1) * n), width, options);
    parts.push(new ByteWriter().u8(enc.coder).varint(enc.bytes.length).finish(), enc.bytes);
  }
  const total = parts.reduce((s, q) => s + q.length, 0);
  const into = options.into;
  const out = into && into.byteLength >= total ? Buffer.from(into, 0, total) : Buffer.from(new ArrayBuffer(total));
  concatInto(parts, out);
  return out;
}

function encodePlane(plane: Uint8Array, width: number, options: LosslessOptions): { coder: number; bytes: Uint8Array } {
  const n = plane.length;
  if (options.coders) return encodeSmallest(plane, options.coders);
  if (options.effort === 'max') return encodeSmallest(plane, [RANS_CODER, ZSTD_PLANE_CODER, SPARSE_CODER, ZSTD_CODER]);
  const rans = options.effort === 'rans';
  // Tiny planes: few bytes to decode whatever codes them; 1-byte elements also try rANS (see below).
  if (n < TINY_PLANE_BYTES) return encodeSmallest(plane, rans ? [RANS_CODER, ZSTD_CODER] : width === 1 ? [RANS_CODER, ZSTD_PLANE_CODER] : [ZSTD_PLANE_CODER]);
  const stats = sampleStats(plane);
  // A plane of near-random bytes (low mantissa bytes, random data) cannot shrink: skip the coders.
  if (stats.bits > INCOMPRESSIBLE_BITS) return { coder: RAW_CODER.id, bytes: plane };
  if (rans) {
    // The choice before version 3: planes up to 64 KiB take the smaller of rANS and zstd -3, larger ones rANS.
    return n <= 64 * 1024 ? encodeSmallest(plane, [RANS_CODER, ZSTD_CODER]) : withMinGain(plane, encodeSmallest(plane, [RANS_CODER]));
  }
  // 1-byte elements (quantized codes: a whole tensor in one plane) and constant planes also try rANS: it
  // codes the face-api uint8 tensors 1.3% smaller than zstd, and a constant plane in 3 bytes.
  if (width === 1 || stats.top === 1) return encodeSmallest(plane, [RANS_CODER, ZSTD_PLANE_CODER]);
  const enc = stats.top >= SPARSE_FROM ? { coder: SPARSE_CODER.id, bytes: encodeSparse(plane, stats.topValue, encodeSparsePart) } : encodeSmallest(plane, [ZSTD_PLANE_CODER]);
  return withMinGain(plane, enc);
}

/** `enc`, or the plane raw when coding saves less than MIN_PLANE_GAIN (a raw plane decodes as a copy). */
function withMinGain(plane: Uint8Array, enc: { coder: number; bytes: Uint8Array }): { coder: number; bytes: Uint8Array } {
  return enc.bytes.length > plane.length * (1 - MIN_PLANE_GAIN) ? { coder: RAW_CODER.id, bytes: plane } : enc;
}

/**
 * A plane of TINY_PLANE_BYTES or more is coded only when that saves at least this fraction of its bytes;
 * otherwise it is stored raw. On faceres-deep most low mantissa planes were stored raw anyway; the few coded
 * for a 0.0-0.4% gain cost +4 KB of 11.7 MB stored raw.
 */
const MIN_PLANE_GAIN = 0.01;
/** Planes below this size take the smaller of rANS and zstd by default. */
const TINY_PLANE_BYTES = 4096;
/** Bytes of a plane sampled to estimate its entropy. */
const SCREEN_SAMPLES = 1 << 16;
/** Order-0 entropy (bits per byte) above which a plane is stored raw without trying the coders. */
const INCOMPRESSIBLE_BITS = 7.9;
/**
 * Share of the most frequent byte value (in the sample) from which a plane takes the sparse coder instead of
 * zstd: a Huffman coder spends at least a bit on every byte of such a plane. On the bf16 fine-tune XOR high
 * bytes (90% zeros) the sparse coder is 40% smaller than zstd (bench:codecs).
 */
const SPARSE_FROM = 0.6;

/**
 * Order-0 entropy (bits per byte) and the most frequent value's share, over an evenly spaced sample of a
 * plane. Deterministic, so encoding stays so.
 */
function sampleStats(plane: Uint8Array): { bits: number; top: number; topValue: number } {
  const stride = Math.max(1, Math.floor(plane.length / SCREEN_SAMPLES));
  const counts = new Uint32Array(256);
  let n = 0;
  for (let i = 0; i < plane.length; i += stride, n++) counts[plane[i]!]!++;
  let bits = 0;
  let topValue = 0;
  counts.forEach((c, v) => {
    if (c > 0) bits -= c * Math.log2(c / n);
    if (c > counts[topValue]!) topValue = v;
  });
  return { bits: bits / n, top: counts[topValue]! / n, topValue };
}

/** Header fields of a lossless blob. */
export interface LosslessInfo {
  readonly width: number;
  readonly hasBase: boolean;
  readonly length: number;
}

interface Header extends LosslessInfo {
  readonly op: BaseOp;
  readonly version: number;
}

function readHeader(r: ByteReader): Header {
  if (r.u8() !== MAGIC) r.fail('not a lossless blob (bad magic)');
  const version = r.u8();
  if (!READABLE_VERSIONS.includes(version)) r.fail(`unsupported version ${version}`);
  const width = r.u8();
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) r.fail(`bad element width ${width}`);
  const op = r.u8();
  if (op > BaseOp.Subtract || (op === BaseOp.Subtract && width !== 1)) r.fail(`bad base operation ${op} for width ${width}`);
  const length = r.varint();
  if (length % width !== 0) r.fail(`length ${length} is not a multiple of width ${width}`);
  return { width, hasBase: op !== BaseOp.None, length, op, version };
}

/** Reads the header only; throws INVALID_ARGUMENT when malformed. */
export function losslessInfo(blob: Uint8Array): LosslessInfo {
  const { width, hasBase, length } = readHeader(new ByteReader(blob, 'lossless tensor'));
  return { width, hasBase, length };
}

/** A blob's header and its coded planes, each checked to decode to length / width bytes. */
interface ParsedBlob {
  readonly h: Header;
  readonly planes: ReadonlyArray<{ coder: EntropyCoder; bytes: Uint8Array }>;
}

function parseBlob(blob: Uint8Array): ParsedBlob {
  const r = new ByteReader(blob, 'lossless tensor');
  const h = readHeader(r);
  const n = h.length / h.width;
  const planes: Array<{ coder: EntropyCoder; bytes: Uint8Array }> = [];
  for (let p = 0; p < h.width; p++) {
    const id = r.u8();
    if (id === SPARSE_CODER.id && h.version < 3) r.fail(`coder ${id} in a version ${h.version} blob`);
    planes.push({ coder: entropyCoderById(id), bytes: r.block() });
  }
  r.end();
  // Every plane must say it decodes to n bytes before the full-size buffers are allocated, so a corrupted
  // length cannot ask for gigabytes.
  for (const e of planes) {
    if (e.coder.decodedLength(e.bytes) !== n) r.fail(`a ${e.coder.name} plane does not decode to ${n} bytes`);
  }
  return { h, planes };
}

/** Decodes the blob's planes, in order, into `out` (h.length bytes). */
function decodePlanes({ h, planes }: ParsedBlob, out: Uint8Array): void {
  const n = h.length / h.width;
  planes.forEach((e, p) => e.coder.decodeInto(e.bytes, out.subarray(p * n, (p + 1) * n)));
}

/**
 * Decodes to the original bytes, in a new array from `alloc` (default: a plain Uint8Array). `base` must be
 * the base given to the encoder (null if none). Throws INVALID_ARGUMENT when the blob is malformed or
 * truncated, or the base does not match it.
 */
export function decodeLossless(
  blob: Uint8Array, base: Uint8Array | null = null, alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  arena: PlaneArena = codecKernels().arena,
): Uint8Array {
  const parsed = parseBlob(blob);
  const { h } = parsed;
  if (h.hasBase !== (base !== null)) {
    throw invalidArgument(`lossless tensor was encoded ${h.hasBase ? 'with' : 'without'} a base, decoded ${base ? 'with' : 'without'}`);
  }
  if (base && base.length !== h.length) throw invalidArgument(`base has ${base.length} bytes, blob has ${h.length}`);
  const out = alloc(h.length);
  // Planes decoded into the arena, merged (with the XOR against the base) and copied out once.
  const regions = h.op !== BaseOp.Subtract && (h.width > 1 || base) ? arena.reserve(h.length, 2) : null;
  if (regions) {
    try {
      decodePlanes(parsed, regions[0]!);
      if (base) regions[1]!.set(base);
      arena.merge(h.width, base !== null, out);
      return out;
    } finally {
      arena.release();
    }
  }
  const k = kernels();
  if (h.width === 1) decodePlanes(parsed, out);
  else {
    const planes = planeScratch.get(h.length);
    decodePlanes(parsed, planes);
    k.mergePlanes(planes, h.width, out);
  }
  if (base && h.op === BaseOp.Xor) k.xorBytes(out, base, out);
  if (base && h.op === BaseOp.Subtract) for (let i = 0; i < out.length; i++) out[i] = out[i]! + base[i]!;
  return out;
}

/**
 * A base chain: blobs, root first, each encoded against the bytes the ones before it decode to. Splitting
 * into byte planes commutes with XOR, so when every blob has the same width (> 1) and XORs on the one before,
 * the chain's planes are the XOR of its blobs' decoded planes: the chain decodes in the plane domain, merged
 * once at the end (or never, when a chunk is coded against it), with no bytes of the links made.
 */
function planeChain(blobs: readonly Uint8Array[]): ParsedBlob[] | null {
  const parsed = blobs.map(parseBlob);
  const { width, length } = parsed[0]!.h;
  const fits = (p: ParsedBlob, i: number) => p.h.width === width && p.h.length === length && p.h.op === (i === 0 ? BaseOp.None : BaseOp.Xor);
  return width > 1 && parsed.every(fits) ? parsed : null;
}

/**
 * Decodes the chain's planes (see `planeChain`) into region `to` of a reserved arena, using region `spare`
 * for the planes of every link after the root.
 */
function decodeChainPlanes(chain: readonly ParsedBlob[], arena: PlaneArena, regions: Uint8Array[], to: number, spare: number): void {
  decodePlanes(chain[0]!, regions[to]!);
  for (const link of chain.slice(1)) {
    decodePlanes(link, regions[spare]!);
    arena.xor(to, spare);
  }
}

/** Where a chain decodes outside the arena: each link against the other buffer, and the base of a chunk coded against it. */
const chainScratch = [new ScratchBuffer(), new ScratchBuffer()] as const;
const chainBaseScratch = new ScratchBuffer();

/**
 * The bytes the last of `blobs` (a base chain, see `planeChain`) decodes to, each blob decoded against the
 * bytes of the ones before it (the first alone), in a new array from `alloc`. Same result as decoding them one
 * by one with `decodeLossless`, and the same errors. INVALID_ARGUMENT for an empty chain.
 */
export function decodeLosslessChain(
  blobs: readonly Uint8Array[], alloc: (n: number) => Uint8Array = (n) => new Uint8Array(n),
  arena: PlaneArena = codecKernels().arena,
): Uint8Array {
  if (blobs.length === 0) throw invalidArgument('a base chain of no records');
  const chain = blobs.length > 1 ? planeChain(blobs) : null;
  const regions = chain ? arena.reserve(chain[0]!.h.length, 2) : null;
  if (chain && regions) {
    try {
      const out = alloc(chain[0]!.h.length);
      decodeChainPlanes(chain, arena, regions, 0, 1);
      arena.merge(chain[0]!.h.width, false, out);
      return out;
    } finally {
      arena.release();
    }
  }
  let bytes: Uint8Array | null = null;
  blobs.forEach((blob, i) => {
    bytes = decodeLossless(blob, bytes, i === blobs.length - 1 ? alloc : (n) => chainScratch[i % 2]!.get(n), arena);
  });
  return bytes!;
}

/**
 * `encodeLossless(bytes, width, base)` where `base` is what the base chain `chain` decodes to (see
 * `decodeLosslessChain`): the same blob. When the chain decodes in the plane domain with `width`, its planes
 * are XORed with the chunk's planes as they are, with no base bytes made, copied or split.
 */
export function encodeLosslessOnChain(
  bytes: Uint8Array, width: number, chain: readonly Uint8Array[], options: LosslessOptions = {},
  arena: PlaneArena = codecKernels().arena,
): Uint8Array {
  checkWidth(width);
  const planes = chain.length > 0 ? planeChain(chain) : null;
  const fits = planes && planes[0]!.h.width === width && planes[0]!.h.length === bytes.length;
  const regions = fits ? arena.reserve(bytes.length, 3) : null;
  if (planes && regions) {
    try {
      decodeChainPlanes(planes, arena, regions, 2, 0);
      regions[1]!.set(bytes);
      arena.split(width, 'planes');
      return codePlanes(regions[0]!, width, BaseOp.Xor, options);
    } finally {
      arena.release();
    }
  }
  return encodeLossless(bytes, width, decodeLosslessChain(chain, (n) => chainBaseScratch.get(n), arena), options, arena);
}
