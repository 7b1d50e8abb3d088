/**
 * The `lossless` mode codec: bit-exact. The tensor's bytes, optionally XORed with a base tensor's bytes
 * (similar floats share sign, exponent and high mantissa bits, so the XOR is mostly zero bytes) or, for 1-byte
 * elements, minus the base's bytes (uint8-quantized codes of a fine-tune sit a few steps from its base's;
 * on the face-api landmark -> expression pair this cuts the expression model's order-0 entropy by 16%), are split
 * into byte planes (ZipNN-style: byte k of every element together, so exponent bytes and noisy mantissa
 * bytes get separate statistics), and each plane is coded with whichever coder makes it smallest.
 * Works for any element width (1, 2, 4, 8 bytes); NaN payloads, infinities and -0 round-trip exactly.
 * No checksum here: the storage engine checksums every record; decoding checks structure and plane lengths
 * (and rANS checks its final state), throwing INVALID_ARGUMENT.
 *
 * Byte layout (varint = unsigned LEB128):
 *   blob   := magic:u8=0xD3 version:u8=2 width:u8 baseOp:u8 length:varint plane[width]
 *   baseOp := 0 no base | 1 XOR with the base's bytes | 2 minus the base's bytes, mod 256 (width 1 only)
 *   plane  := coder:u8 encoded:varint-length-prefixed bytes      (decodes to length / width bytes)
 * Decoding: merge the planes, then undo baseOp (XOR, or add the base's bytes mod 256). Version 2: rANS planes
 * use the compact frequency table (rans-coder.ts mode 4) and baseOp 2 exists; version 1 is no longer read.
 */
import { invalidArgument } from '../errors.js';
import { kernels } from '../kernels/kernels.js';
import { ByteReader, ByteWriter } from './byte-io.js';
import { type EntropyCoder, RANS_CODER, RAW_CODER, ZSTD_CODER, encodeSmallest, entropyCoderById } from './entropy-coder.js';

const MAGIC = 0xd3;
const VERSION = 2;

/** How the base is applied: the blob's baseOp byte. */
enum BaseOp {
  None = 0,
  Xor = 1,
  Subtract = 2,
}

/** Options of `encodeLossless`. */
export interface LosslessOptions {
  /** Coders tried on every plane (smallest wins, raw if none helps). Default [rANS, zstd-3]. */
  readonly coders?: readonly EntropyCoder[];
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
): Uint8Array {
  checkWidth(width);
  if (bytes.length % width !== 0) throw invalidArgument(`${bytes.length} bytes is not a whole number of ${width}-byte elements`);
  if (base && base.length !== bytes.length) throw invalidArgument(`base has ${base.length} bytes, tensor has ${bytes.length}`);
  if (!base) return encodeWith(bytes, width, BaseOp.None, options);
  const data = new Uint8Array(bytes.length);
  kernels().xorBytes(bytes, base, data);
  let best = encodeWith(data, width, BaseOp.Xor, options);
  if (width === 1) {
    for (let i = 0; i < bytes.length; i++) data[i] = bytes[i]! - base[i]!; // Uint8Array stores it mod 256
    const sub = encodeWith(data, width, BaseOp.Subtract, options);
    if (sub.length < best.length) best = sub;
  }
  return best;
}

function encodeWith(data: Uint8Array, width: number, op: BaseOp, options: LosslessOptions): Uint8Array {
  const planes = new Uint8Array(data.length);
  kernels().splitPlanes(data, width, planes);
  const n = data.length / width;
  const w = new ByteWriter().u8(MAGIC).u8(VERSION).u8(width).u8(op).varint(data.length);
  // Measured on real float planes: rANS alone is within 0.1% of the best of rANS and zstd and twice as fast as
  // trying both; zstd still wins on small or repetitive planes, where trying it costs little.
  const coders = options.coders ?? (n > RANS_ONLY_PLANE_BYTES ? [RANS_CODER] : [RANS_CODER, ZSTD_CODER]);
  for (let p = 0; p < width; p++) {
    const plane = planes.subarray(p * n, (p + 1) * n);
    // A plane of near-random bytes (low mantissa bytes, random data) cannot shrink: skip the slow coders.
    let enc = looksIncompressible(plane) ? { coder: RAW_CODER.id, bytes: plane } : encodeSmallest(plane, coders);
    if (n > RANS_ONLY_PLANE_BYTES && enc.bytes.length > n * (1 - MIN_PLANE_GAIN)) enc = { coder: RAW_CODER.id, bytes: plane };
    w.u8(enc.coder).block(enc.bytes);
  }
  return w.finish();
}

/**
 * A plane larger than RANS_ONLY_PLANE_BYTES is coded only when that saves at least this fraction of its
 * bytes; otherwise it is stored raw (small planes take whatever is smallest: their decode time is small).
 * Decoding a coded plane costs ~8 ns a byte on the dev VM (wasm rANS), a raw one a copy. On faceres-deep most
 * low mantissa planes were already stored raw; the few coded for a 0.0-0.4% gain now are too (+4 KB of 11.7 MB).
 */
const MIN_PLANE_GAIN = 0.01;
/** Planes larger than this are coded with rANS alone by default. */
const RANS_ONLY_PLANE_BYTES = 64 * 1024;
/** Planes at least this large are screened by their byte entropy before any coder runs. */
const SCREEN_BYTES = 4096;
/** Bytes of a plane sampled to estimate its entropy. */
const SCREEN_SAMPLES = 1 << 16;
/** Order-0 entropy (bits per byte) above which a plane is stored raw without trying the coders. */
const INCOMPRESSIBLE_BITS = 7.9;

/**
 * True when a plane's order-0 entropy says no coder would gain: an order-0 coder (rANS) cannot beat it, and
 * zstd, which can exploit repeats, rarely finds any in such bytes. Deterministic, so encoding stays so.
 */
function looksIncompressible(plane: Uint8Array): boolean {
  if (plane.length < SCREEN_BYTES) return false;
  // An evenly spaced sample is enough to price a plane's histogram.
  const stride = Math.max(1, Math.floor(plane.length / SCREEN_SAMPLES));
  const counts = new Uint32Array(256);
  let n = 0;
  for (let i = 0; i < plane.length; i += stride, n++) counts[plane[i]!]!++;
  let bits = 0;
  for (const c of counts) if (c > 0) bits -= c * Math.log2(c / n);
  return bits / n > INCOMPRESSIBLE_BITS;
}

/** Header fields of a lossless blob. */
export interface LosslessInfo {
  readonly width: number;
  readonly hasBase: boolean;
  readonly length: number;
}

interface Header extends LosslessInfo {
  readonly op: BaseOp;
}

function readHeader(r: ByteReader): Header {
  if (r.u8() !== MAGIC) r.fail('not a lossless blob (bad magic)');
  if (r.u8() !== VERSION) r.fail('unsupported version');
  const width = r.u8();
  if (width !== 1 && width !== 2 && width !== 4 && width !== 8) r.fail(`bad element width ${width}`);
  const op = r.u8();
  if (op > BaseOp.Subtract || (op === BaseOp.Subtract && width !== 1)) r.fail(`bad base operation ${op} for width ${width}`);
  const length = r.varint();
  if (length % width !== 0) r.fail(`length ${length} is not a multiple of width ${width}`);
  return { width, hasBase: op !== BaseOp.None, length, op };
}

/** Reads the header only; throws INVALID_ARGUMENT when malformed. */
export function losslessInfo(blob: Uint8Array): LosslessInfo {
  const { width, hasBase, length } = readHeader(new ByteReader(blob, 'lossless tensor'));
  return { width, hasBase, length };
}

/**
 * Decodes to the original bytes (a new array). `base` must be the base given to the encoder (null if none).
 * Throws INVALID_ARGUMENT when the blob is malformed or truncated, or the base does not match it.
 */
export function decodeLossless(blob: Uint8Array, base: Uint8Array | null = null): Uint8Array {
  const r = new ByteReader(blob, 'lossless tensor');
  const h = readHeader(r);
  if (h.hasBase !== (base !== null)) {
    throw invalidArgument(`lossless tensor was encoded ${h.hasBase ? 'with' : 'without'} a base, decoded ${base ? 'with' : 'without'}`);
  }
  if (base && base.length !== h.length) throw invalidArgument(`base has ${base.length} bytes, blob has ${h.length}`);
  const n = h.length / h.width;
  const encoded: Array<{ coder: EntropyCoder; bytes: Uint8Array }> = [];
  for (let p = 0; p < h.width; p++) encoded.push({ coder: entropyCoderById(r.u8()), bytes: r.block() });
  r.end();
  // Each plane is decoded (and its length checked) before the full-size buffer is allocated, so a corrupted
  // length cannot ask for gigabytes.
  const decoded = encoded.map((e) => e.coder.decode(e.bytes, n));
  const planes = new Uint8Array(h.length);
  decoded.forEach((d, p) => planes.set(d, p * n));
  const k = kernels();
  const out = new Uint8Array(h.length);
  k.mergePlanes(planes, h.width, out);
  if (base && h.op === BaseOp.Xor) k.xorBytes(out, base, out);
  if (base && h.op === BaseOp.Subtract) for (let i = 0; i < out.length; i++) out[i] = out[i]! + base[i]!;
  return out;
}
