/**
 * The `default` mode codec: group-wise uniform quantization of a delta (x - base), or of a tensor alone, with
 * codes entropy-coded. Each group of `groupSize` elements gets its own step and integer center; the step is
 * 2 tol minus the rounding budget of the output dtype at the group's magnitude, so every decoded element,
 * after rounding to F32/F16/BF16, is within tol. The encoder computes each element's decoded value with the
 * decoder's arithmetic (the encodeGroups kernel), nudges any element that misses by a code, and stores a group exactly (raw: f32, or 16 bits when the values are exact in
 * the F16/BF16 output) when that fails or when the group holds NaN/infinity, so the bound holds
 * unconditionally and non-finite values round-trip. Blobs carry no checksum (the storage engine checksums
 * every record); decoding does structural checks and throws INVALID_ARGUMENT on any inconsistency.
 *
 * Byte layout (little-endian; varint = unsigned LEB128):
 *   blob     := magic:u8=0xD2 version:u8=1 dtype:u8(0 F32, 1 F16, 2 BF16) hasBase:u8 count:varint
 *               groupSize:varint stream(meta) stream(codes) stream(overflow) stream(raw)
 *   stream   := coder:u8 length:varint encoded:varint-length-prefixed bytes   (length = decoded bytes)
 *   meta     := step:f32[groups] center:zigzag-varint[groups with step > 0]
 *               (step 0: raw group stored as f32; step -1: raw group stored in the 16-bit dtype)
 *   codes    := u8 per element of the quantized groups: zigzag(q - center), 255 = see overflow
 *   overflow := varint(zigzag(q - center) - 255) per 255 in codes
 *   raw      := per element of the raw groups: f32, or u16 bit pattern (F16/BF16) when its step is -1
 * Decoding: x'[i] = round_dtype(f32(base[i] + f32(f32(q[i]) * step[g]))), q = center + unzigzag(code).
 */
import { invalidArgument } from '../errors.js';
import { kernels } from '../kernels/kernels.js';
import { ByteReader, ByteWriter, concatInto } from './byte-io.js';
import { type EntropyCoder, RANS_CODER, encodeSmallest, entropyCoderById } from './entropy-coder.js';
import { type FloatDType, ulpOf, unzigzag, zigzag } from './float-ulp.js';
import { fromBf16Bits, fromF16Bits, roundTo, toBf16Bits, toDTypeBytes, toF16Bits } from './half-float.js';
import { CODED_SCRATCH, ScratchBuffer } from './scratch-buffer.js';

const MAGIC = 0xd2;
const VERSION = 1;
const DTYPES: readonly FloatDType[] = ['F32', 'F16', 'BF16'];
/**
 * Measured on the faceres -> faceres-deep fine-tune deltas at tol 1e-3: 4.70 bits/element with G=64,
 * 4.52 with 256, 4.47 with 1024, 4.45 with one group per tensor. 1024 keeps nearly all of the gain while
 * raw fallbacks and the fp16 rounding budget stay local to a group.
 */
export const DEFAULT_GROUP_SIZE = 1024;
const STEP_SHRINK = 1 - 2 ** -10;
const RAW_F32 = 0;
const RAW_HALF = -1;
/** Histogram buckets of `estimateGroupDeltaBytes` (zigzagged codes; larger ones share the last). */
const ESTIMATE_BUCKETS = 4096;
/** |q| stays below this so f32(q) is exact. */
const MAX_CODE = 2 ** 23;

/** The encoder's step rule, for the encodeGroups kernel. */
const STEP_RULE = { shrink: STEP_SHRINK, halfMaxCode: MAX_CODE / 2 };

/** Options of `encodeGroupDelta`. */
export interface GroupDeltaOptions {
  /** Elements per group (a row length gives per-row scales). Default DEFAULT_GROUP_SIZE. */
  readonly groupSize?: number;
  /** Dtype the decoder produces; the bound holds on its values. Default 'F32'. */
  readonly dtype?: FloatDType;
  /**
   * Entropy coder of the streams (each stream falls back to raw if that is smaller). Default rANS: on real
   * fine-tune codes it is 8-30% smaller than zstd-3 and on par with zstd-19; zstd decodes faster.
   */
  readonly coder?: EntropyCoder;
}

/** Per-group step (0 = raw group) from the tolerance and the dtype's rounding budget at the group's magnitude. */
function groupSteps(x: Source, base: Source | null, tol: number, g: number, dtype: FloatDType): Float32Array {
  const steps = new Float32Array(Math.ceil(x.length / g));
  // m = the largest |x| and |x - base| of the group, -1 when it holds NaN or infinity (one pass, a kernel).
  const mags = new Float64Array(steps.length);
  kernels().groupMagnitudes(x, base, g, mags, dtype === 'F16' ? 1 : 2);
  for (let k = 0; k < steps.length; k++) {
    const m = mags[k]!;
    if (m < 0) continue;
    const budget = ulpOf('F32', m) + (dtype === 'F32' ? 0 : ulpOf(dtype, m));
    let step = Math.fround((2 * tol - budget) * STEP_SHRINK);
    // When the dtype's grid is as coarse as the tolerance, rounding to it mostly lands exactly on x, so the
    // full step is tried; encodeGroups makes the group raw if that does not hold.
    if (step < tol) step = Math.fround(2 * tol * STEP_SHRINK);
    if (m / step < MAX_CODE / 2) steps[k] = step;
  }
  return steps;
}

/**
 * What the encoder reads: float32 values, or (as Uint16Array) the bit patterns of a 16-bit output dtype, which
 * the kernels widen exactly (so a BF16/F16 chunk is never widened to a float32 copy).
 */
export type Source = Float32Array | Uint16Array;

/** The float32 values of elements start..end of a source (a view for Float32Array, widened for bit patterns). */
function valuesOf(x: Source, start: number, end: number, dtype: FloatDType): Float32Array {
  if (x instanceof Float32Array) return x.subarray(start, end);
  return Float32Array.from(x.subarray(start, end), dtype === 'F16' ? fromF16Bits : fromBf16Bits);
}

function checkArgs(x: Source, base: Source | null, tol: number, g: number): void {
  if (!(tol > 0) || !Number.isFinite(tol)) throw invalidArgument(`tolerance must be a finite number > 0, got ${tol}`);
  if (!Number.isSafeInteger(g) || g < 1) throw invalidArgument(`group size must be a positive integer, got ${g}`);
  if (base && base.length !== x.length) throw invalidArgument(`base has ${base.length} elements, tensor has ${x.length}`);
}

/** Per-group steps and codes, before the bound is enforced: the part the encoder and the estimate share. */
function quantize(x: Float32Array, base: Float32Array | null, tol: number, options: GroupDeltaOptions) {
  const g = options.groupSize ?? DEFAULT_GROUP_SIZE;
  const dtype = options.dtype ?? 'F32';
  checkArgs(x, base, tol, g);
  const steps = groupSteps(x, base, tol, g, dtype);
  const q = new Int32Array(x.length);
  kernels().quantizeGroups(x, base, steps, g, q);
  return { g, dtype, steps, q };
}

/** What `encodeGroupDeltaDecoded` returns: the blob, and what it decodes to. */
export interface GroupDeltaEncoding {
  readonly body: Uint8Array;
  /**
   * The little-endian `dtype` bytes `decodeGroupDelta(body, base)` gives back (its values through
   * toDTypeBytes). A view of a per-thread scratch buffer: valid until the next call on the same thread.
   */
  readonly decoded: Uint8Array;
  /** Largest |x - decoded| (Infinity when NaN meets a number); NaN for NaN counts as equal. */
  readonly maxError: number;
}

const codesScratch = new ScratchBuffer();
const overflowScratch = new ScratchBuffer();
const decodedScratch = new ScratchBuffer();

/**
 * Encodes `x` against `base` (null: the tensor alone) so that every decoded value, in `options.dtype`, is
 * within `tol` of x; NaN/infinity are stored exactly. Inputs are not modified. Throws INVALID_ARGUMENT for
 * tol <= 0, a bad group size, or a base of another length.
 */
export function encodeGroupDelta(
  x: Float32Array, base: Float32Array | null, tol: number, options: GroupDeltaOptions = {},
): Uint8Array {
  return encodeGroupDeltaDecoded(x, base, tol, options).body;
}

/**
 * `encodeGroupDelta`, also returning the bytes the blob decodes to and the largest error, without decoding
 * it: one kernel pass quantizes each group, computes every element's decoded value with the decoder's
 * arithmetic, nudges an element that misses the bound by a code (or makes the group raw), and makes the
 * codes. The bound is thereby checked on exactly the values a reader sees.
 */
export function encodeGroupDeltaDecoded(
  x: Source, base: Source | null, tol: number, options: GroupDeltaOptions = {},
): GroupDeltaEncoding {
  const g = options.groupSize ?? DEFAULT_GROUP_SIZE;
  const dtype = options.dtype ?? 'F32';
  checkArgs(x, base, tol, g);
  if ((x instanceof Uint16Array || base instanceof Uint16Array) && dtype === 'F32') {
    throw invalidArgument('16-bit patterns need a 16-bit dtype');
  }
  // The kernel computes each group's step as it reaches the group (STEP_RULE: groupSteps' rule, with the
  // magnitude's exponent read from its bits instead of through Math.log2).
  const steps = new Float32Array(Math.ceil(x.length / g));
  const n = x.length;
  const width = dtype === 'F32' ? 4 : 2;
  const codes = codesScratch.get(n);
  const overflow = overflowScratch.get(4 * n);
  const centers = new Int32Array(steps.length);
  const decoded = decodedScratch.get(n * width);
  const r = kernels().encodeGroups(x, base, steps, g, tol, DTYPES.indexOf(dtype) as 0 | 1 | 2, codes, overflow, centers, decoded, STEP_RULE);
  markHalfRaw(x, steps, g, dtype);
  const raw = rawStream(x, steps, g, dtype);
  const rawError = fillRawDecoded(raw, steps, g, dtype, x, decoded);
  const meta = new ByteWriter();
  for (const s of steps) meta.f32(s);
  for (let k = 0; k < steps.length; k++) if (steps[k]! > 0) meta.varint(zigzag(centers[k]!));
  const coder = options.coder ?? RANS_CODER;
  const head = new ByteWriter().u8(MAGIC).u8(VERSION).u8(DTYPES.indexOf(dtype)).u8(base ? 1 : 0).varint(n).varint(g).finish();
  const body = CODED_SCRATCH.run(() => {
    // The streams' codings are cut from CODED_SCRATCH and copied into the body, made once at its size (a
    // ByteWriter grew through fresh buffers, then copied the whole body again).
    const pieces = [head];
    for (const s of [meta.finish(), codes.subarray(0, r.codes), overflow.subarray(0, r.overflow), raw]) {
      const enc = encodeSmallest(s, [coder]);
      pieces.push(new ByteWriter().u8(enc.coder).varint(s.length).varint(enc.bytes.length).finish(), enc.bytes);
    }
    const out = new Uint8Array(pieces.reduce((t, p) => t + p.length, 0));
    concatInto(pieces, out);
    return out;
  });
  return { body, decoded, maxError: Math.max(r.maxError, rawError) };
}

/** The raw stream: the elements of the raw groups, f32 (step 0) or their 16-bit patterns (step -1). */
function rawStream(x: Source, steps: Float32Array, g: number, dtype: FloatDType): Uint8Array {
  const half = dtype === 'F16' ? toF16Bits : toBf16Bits;
  const raw = new ByteWriter();
  for (let k = 0; k < steps.length; k++) {
    if (steps[k]! > 0) continue;
    const v = valuesOf(x, k * g, Math.min(x.length, (k + 1) * g), dtype);
    if (steps[k] === RAW_F32) for (let i = 0; i < v.length; i++) raw.f32(v[i]!);
    else for (let i = 0; i < v.length; i++) raw.u16(half(v[i]!));
  }
  return raw.finish();
}

/**
 * Writes the decoded bytes of the raw groups, read back from the raw stream exactly as `rebuild` does, and
 * returns their largest error against x (as group-chunk measured it on a full decode).
 */
function fillRawDecoded(raw: Uint8Array, steps: Float32Array, g: number, dtype: FloatDType, x: Source, decoded: Uint8Array): number {
  const rr = new ByteReader(raw, 'group delta raw stream');
  const half = dtype === 'F16' ? fromF16Bits : fromBf16Bits;
  const width = dtype === 'F32' ? 4 : 2;
  let maxError = 0;
  for (let k = 0; k < steps.length; k++) {
    if (steps[k]! > 0) continue;
    const start = k * g;
    const end = Math.min(x.length, start + g);
    const v = new Float32Array(end - start);
    if (steps[k] === RAW_F32) for (let i = 0; i < v.length; i++) v[i] = rr.f32();
    else for (let i = 0; i < v.length; i++) v[i] = half(rr.u16());
    if (dtype !== 'F32') for (let i = 0; i < v.length; i++) v[i] = roundTo(dtype, v[i]!);
    decoded.set(toDTypeBytes(v, dtype), start * width);
    const xv = valuesOf(x, start, end, dtype);
    for (let i = 0; i < v.length; i++) {
      const a = xv[i]!;
      const d = v[i]!;
      if (a === d || (a !== a && d !== d)) continue; // equal (infinities too), or NaN for NaN
      const e = Math.abs(a - d);
      if (e !== e) return Infinity; // NaN on one side only: never within a bound
      if (e > maxError) maxError = e;
    }
  }
  return maxError;
}

/**
 * A cheap estimate of the encoded size in bytes (no entropy coding, no bound enforcement): per-group steps
 * and codes as the encoder makes them, priced at their order-0 entropy, raw groups at 4 bytes an element.
 * The store ranks candidate bases with it and encodes only the winner.
 */
export function estimateGroupDeltaBytes(
  x: Float32Array, base: Float32Array | null, tol: number, options: GroupDeltaOptions = {},
): number {
  const { g, steps, q } = quantize(x, base, tol, options);
  // Codes far from zero are rare and costly anyway: they share the histogram's last bucket, priced high.
  const counts = new Uint32Array(ESTIMATE_BUCKETS + 1);
  let coded = 0;
  let raw = 0;
  for (let k = 0; k < steps.length; k++) {
    const end = Math.min(x.length, (k + 1) * g);
    if (steps[k]! <= 0) {
      raw += end - k * g;
      continue;
    }
    for (let i = k * g; i < end; i++) counts[Math.min(zigzag(q[i]!), ESTIMATE_BUCKETS)]!++;
    coded += end - k * g;
  }
  let bits = 32 * counts[ESTIMATE_BUCKETS]!;
  let symbols = 0;
  for (let c = 0; c < ESTIMATE_BUCKETS; c++) {
    const n = counts[c]!;
    if (n > 0) {
      bits -= n * Math.log2(n / coded);
      symbols++;
    }
  }
  return Math.ceil(bits / 8) + 4 * raw + 6 * steps.length + 2 * symbols;
}

/** Encode-and-measure: the exact encoded size in bytes. */
export function groupDeltaEncodedSize(
  x: Float32Array, base: Float32Array | null, tol: number, options: GroupDeltaOptions = {},
): number {
  return encodeGroupDelta(x, base, tol, options).length;
}

/** Marks raw groups whose values are all exact in the 16-bit dtype, so they are stored in 2 bytes. */
function markHalfRaw(x: Source, steps: Float32Array, g: number, dtype: FloatDType): void {
  if (dtype === 'F32') return;
  for (let k = 0; k < steps.length; k++) {
    if (steps[k] !== RAW_F32) continue;
    const v = valuesOf(x, k * g, Math.min(x.length, (k + 1) * g), dtype);
    let exact = true;
    for (let i = 0; i < v.length && exact; i++) exact = Number.isNaN(v[i]!) || roundTo(dtype, v[i]!) === v[i];
    if (exact) steps[k] = RAW_HALF;
  }
}

/** A decoded tensor: float32 values, each exactly representable in `dtype`. */
export interface DecodedTensor {
  readonly values: Float32Array;
  readonly dtype: FloatDType;
}

/**
 * Decoded streams (meta, codes, overflow, raw) go to reused per-thread memory: a chunk's codes stream alone is
 * a fresh 4 MiB array otherwise (page faults, garbage). Decoders use them only until they return.
 */
const streamScratch = [new ScratchBuffer(), new ScratchBuffer(), new ScratchBuffer(), new ScratchBuffer()];

function readStream(r: ByteReader, scratch: ScratchBuffer): Uint8Array {
  const coder = entropyCoderById(r.u8());
  const length = r.varint();
  const block = r.block();
  const n = coder.decodedLength(block);
  if (n !== length) throw invalidArgument(`${coder.name} block decodes to ${n} bytes, expected ${length}`);
  const out = scratch.get(n);
  coder.decodeInto(block, out);
  return out;
}

function readHeader(r: ByteReader): { dtype: FloatDType; hasBase: number; count: number } {
  if (r.u8() !== MAGIC) r.fail('not a group delta blob (bad magic)');
  if (r.u8() !== VERSION) r.fail('unsupported version');
  const dtype = DTYPES[r.u8()] ?? r.fail('unknown dtype');
  const hasBase = r.u8();
  return { dtype, hasBase, count: r.varint() };
}

/** The dtype and element count of a blob, from its header; throws INVALID_ARGUMENT when malformed. */
export function groupDeltaInfo(blob: Uint8Array): { dtype: FloatDType; count: number } {
  const { dtype, count } = readHeader(new ByteReader(blob, 'group delta'));
  return { dtype, count };
}

/**
 * Decodes a blob of `encodeGroupDelta`; `base` must be the base given to the encoder (null if none).
 * Throws INVALID_ARGUMENT when the blob is malformed or truncated, or the base does not match it.
 */
export function decodeGroupDelta(blob: Uint8Array, base: Float32Array | null): DecodedTensor {
  const { dtype, count, g, streams } = readBlob(blob, base);
  return { values: rebuild(count, g, dtype, base, streams), dtype };
}

/**
 * Decodes a blob of `encodeGroupDelta` straight to its dtype's little-endian bytes: what toDTypeBytes makes of
 * `decodeGroupDelta`'s values, without float32 values in between for F16/BF16 (one kernel pass writes the
 * 16-bit patterns). `base` as for `decodeGroupDelta`, or for F16/BF16 blobs its 16-bit patterns. For F16/BF16
 * blobs, `alloc(n)` may give the memory for the n result bytes (e.g. a recycled buffer; used when 2-byte
 * aligned). Throws as `decodeGroupDelta`.
 */
export function decodeGroupDeltaBytes(
  blob: Uint8Array, base: Source | null, alloc?: (n: number) => Uint8Array,
): { bytes: Uint8Array; dtype: FloatDType } {
  const { dtype, count, g, streams, m } = readBlob(blob, base);
  if (dtype === 'F32') {
    if (base instanceof Uint16Array) throw invalidArgument('an F32 blob takes a float32 base');
    const values = rebuild(count, g, dtype, base, streams);
    return { bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength), dtype };
  }
  const [, codes, overflow, raw] = streams;
  const steps = readSteps(m, count, g, dtype, codes.length, raw.length);
  const centers = readCenters(m, steps);
  m.end();
  const out = alloc?.(2 * count);
  // The caller's memory when it is 2-byte aligned (a Uint16Array view needs it), else a fresh array.
  const bits = out && out.byteOffset % 2 === 0 ? new Uint16Array(out.buffer, out.byteOffset, count) : new Uint16Array(count);
  const used = kernels().dequantizeCodesHalf(codes, centers, steps, overflow, base, g, MAX_CODE, dtype === 'F16' ? 1 : 2, bits);
  checkUsed(m, used, count, g, overflow.length);
  const rr = new ByteReader(raw, 'group delta raw stream');
  const half = dtype === 'F16' ? fromF16Bits : fromBf16Bits;
  const toBits = dtype === 'F16' ? toF16Bits : toBf16Bits;
  for (let k = 0; k < steps.length; k++) {
    if (steps[k]! > 0) continue;
    const end = Math.min(count, (k + 1) * g);
    // As rebuild, then toDTypeBytes: the raw value, rounded to dtype, as its 16-bit pattern.
    const v = new Float32Array(end - k * g);
    if (steps[k] === RAW_F32) for (let i = 0; i < v.length; i++) v[i] = rr.f32();
    else for (let i = 0; i < v.length; i++) v[i] = half(rr.u16());
    for (let i = 0; i < v.length; i++) v[i] = roundTo(dtype, v[i]!);
    for (let i = 0; i < v.length; i++) bits[k * g + i] = toBits(v[i]!);
  }
  rr.end();
  return { bytes: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength), dtype };
}

/** Header, argument checks and the four decoded streams of a blob; `m` reads the meta stream. */
function readBlob(blob: Uint8Array, base: Source | null) {
  const r = new ByteReader(blob, 'group delta');
  const { dtype, hasBase, count } = readHeader(r);
  const g = r.varint();
  if (hasBase > 1 || (hasBase === 1) !== (base !== null)) {
    throw invalidArgument(`group delta was encoded ${hasBase ? 'with' : 'without'} a base, decoded ${base ? 'with' : 'without'}`);
  }
  if (base && base.length !== count) throw invalidArgument(`base has ${base.length} elements, blob has ${count}`);
  if (g < 1) r.fail(`bad group size ${g}`);
  const [meta, codes, overflow, raw] = streamScratch.map((scratch) => readStream(r, scratch));
  const streams = [meta!, codes!, overflow!, raw!] as const;
  r.end();
  return { dtype, count, g, streams, m: new ByteReader(streams[0], 'group delta meta stream') };
}

/** Fails (INVALID_ARGUMENT) unless a dequantizing kernel used exactly the whole overflow stream. */
function checkUsed(m: ByteReader, used: number, count: number, g: number, overflowLength: number): void {
  if (used < -count) m.fail(`overflow stream ends early or is malformed at element ${-1 - count - used}`);
  if (used < 0) m.fail(`code out of range in group ${Math.floor((-1 - used) / g)}`);
  if (used !== overflowLength) m.fail(`${overflowLength - used} unused overflow stream bytes`);
}

function rebuild(
  count: number, g: number, dtype: FloatDType, base: Float32Array | null,
  [meta, codes, overflow, raw]: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array],
): Float32Array {
  const m = new ByteReader(meta, 'group delta meta stream');
  const steps = readSteps(m, count, g, dtype, codes.length, raw.length);
  const centers = readCenters(m, steps);
  m.end();
  const out = new Float32Array(count);
  checkUsed(m, kernels().dequantizeCodes(codes, centers, steps, overflow, base, g, MAX_CODE, out), count, g, overflow.length);
  const rr = new ByteReader(raw, 'group delta raw stream');
  const half = dtype === 'F16' ? fromF16Bits : fromBf16Bits;
  for (let k = 0; k < steps.length; k++) {
    if (steps[k]! > 0) continue;
    const end = Math.min(count, (k + 1) * g);
    if (steps[k] === RAW_F32) for (let i = k * g; i < end; i++) out[i] = rr.f32();
    else for (let i = k * g; i < end; i++) out[i] = half(rr.u16());
  }
  rr.end();
  if (dtype !== 'F32') kernels().roundHalf(out, dtype === 'F16' ? 1 : 2, new Uint16Array(count));
  return out;
}

/** Reads the per-group steps and checks the streams hold exactly `count` elements between them. */
function readSteps(
  m: ByteReader, count: number, g: number, dtype: FloatDType, codeBytes: number, rawBytes: number,
): Float32Array {
  const groups = Math.ceil(count / g);
  if (groups * 4 > m.buf.length) m.fail(`${groups} groups need ${groups * 4} bytes of steps`);
  const steps = new Float32Array(groups);
  let quantized = 0;
  let rawNeed = 0;
  for (let k = 0; k < groups; k++) {
    const s = m.f32();
    const size = Math.min(count, (k + 1) * g) - k * g;
    if (s > 0 && Number.isFinite(s)) quantized += size;
    else if (s === RAW_F32) rawNeed += 4 * size;
    else if (s === RAW_HALF && dtype !== 'F32') rawNeed += 2 * size;
    else m.fail(`bad step ${s} for group ${k}`);
    steps[k] = s;
  }
  // Checked before allocating count-sized arrays, so a corrupted count cannot ask for gigabytes.
  if (quantized !== codeBytes || rawNeed !== rawBytes) {
    m.fail(`streams hold ${codeBytes} codes and ${rawBytes} raw bytes, the groups need ${quantized} and ${rawNeed}`);
  }
  return steps;
}

/** The integer center of every quantized group (0 for raw groups); |center| <= MAX_CODE as the encoder writes it. */
function readCenters(m: ByteReader, steps: Float32Array): Int32Array {
  const centers = new Int32Array(steps.length);
  for (let k = 0; k < steps.length; k++) {
    if (!(steps[k]! > 0)) continue;
    const center = unzigzag(m.varint());
    if (Math.abs(center) > MAX_CODE) m.fail(`center ${center} out of range in group ${k}`);
    centers[k] = center;
  }
  return centers;
}

