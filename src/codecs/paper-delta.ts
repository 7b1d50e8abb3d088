/**
 * The paper's delta codec (`paper` mode), kept faithful as a baseline: delta = x - base (base = the decoded
 * 8-bit base tensor), b = clamp(ceil(log2(range / (2 tol))), 1, 32) bits, min/max linear quantization with
 * step = range / (2^b - 1), plain bit packing. Two corrections keep the promised bound max|x - x'| <= tol:
 * with 2^b - 1 intervals the rule can give a step above 2 tol (so b grows until it does not), and the
 * decoder's float32 rounding can add an ulp (so the encoder replays the decoder and adds a bit if needed).
 * No checksum here: the storage engine checksums every record; decoding checks structure and lengths.
 *
 * Byte layout (little-endian):
 *   blob := magic:u8=0xD1 version:u8=1 count:varint bits:u8 min:f32 step:f32 packed:u8[ceil(count*bits/8)]
 * Decoding: x'[i] = f32(base[i] + f32(min + code[i] * step)), the inner product and sum in float64.
 */
import { invalidArgument } from '../errors.js';
import { packBits, unpackBits } from './bit-pack.js';
import { ByteReader, ByteWriter } from './byte-io.js';

const MAGIC = 0xd1;
const VERSION = 1;

/** The paper's reuse threshold: std = ceil(log2(0.16 / tol)). Throws INVALID_ARGUMENT unless tol > 0. */
export function paperStdBits(tol: number): number {
  checkTol(tol);
  return Math.ceil(Math.log2(0.16 / tol));
}

/** The paper's needed bits for a delta: nb = ceil(log2(range(delta) / tol)); 0 for a zero range. */
export function paperNeededBits(deltaRange: number, tol: number): number {
  checkTol(tol);
  return deltaRange > 0 ? Math.ceil(Math.log2(deltaRange / tol)) : 0;
}

/** The paper's delta width: b = clamp(ceil(log2(range / (2 tol))), 1, 32). */
export function paperDeltaBits(deltaRange: number, tol: number): number {
  checkTol(tol);
  const b = deltaRange > 0 ? Math.ceil(Math.log2(deltaRange / (2 * tol))) : 1;
  return Math.min(32, Math.max(1, b));
}

function checkTol(tol: number): void {
  if (!(tol > 0) || !Number.isFinite(tol)) throw invalidArgument(`tolerance must be a finite number > 0, got ${tol}`);
}

function checkInputs(x: Float32Array, base: Float32Array | null): void {
  if (base && base.length !== x.length) {
    throw invalidArgument(`base has ${base.length} elements, tensor has ${x.length}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!) || (base && !Number.isFinite(base[i]!))) {
      throw invalidArgument(`element ${i} is not finite: paper mode cannot store NaN or infinity (use lossless)`);
    }
  }
}

interface Plan {
  readonly bits: number;
  readonly min: number;
  readonly step: number;
  readonly codes: Uint32Array;
}

function plan(x: Float32Array, base: Float32Array | null, bits: number, min: number, max: number): Plan {
  const exact = (max - min) / (2 ** bits - 1);
  let step = Math.fround(exact);
  // Rounding up keeps the top code reaching max; an extra ulp of step costs nothing measurable.
  if (step < exact) step = Math.fround(step + Math.max(step * 2 ** -23, 2 ** -149));
  const codes = new Uint32Array(x.length);
  const top = 2 ** bits - 1;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - (base ? base[i]! : 0);
    const c = step > 0 ? Math.round((d - min) / step) : 0;
    codes[i] = c < 0 ? 0 : c > top ? top : c;
  }
  return { bits, min, step, codes };
}

/** True when every decoded element is within tol (replays the decoder's exact arithmetic). */
function holds(p: Plan, x: Float32Array, base: Float32Array | null, tol: number): boolean {
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround((base ? base[i]! : 0) + Math.fround(p.min + p.codes[i]! * p.step));
    if (!(Math.abs(v - x[i]!) <= tol)) return false;
  }
  return true;
}

/**
 * Encodes `x` against `base` (null: against zero) within `tol`. Neither input is modified.
 * Throws INVALID_ARGUMENT for tol <= 0, a length mismatch, a non-finite element, or a range that 32 bits
 * cannot cover within tol.
 */
export function encodePaperDelta(x: Float32Array, base: Float32Array | null, tol: number): Uint8Array {
  checkTol(tol);
  checkInputs(x, base);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - (base ? base[i]! : 0);
    if (d < min) min = d;
    if (d > max) max = d;
  }
  if (x.length === 0) min = max = 0;
  // min is stored as f32; rounding it down keeps every delta at or above it.
  let fmin = Math.fround(min);
  if (fmin > min) fmin = Math.fround(fmin - Math.abs(fmin) * 2 ** -23 - Number.MIN_VALUE);
  let bits = paperDeltaBits(max - fmin, tol);
  while (bits < 32 && (max - fmin) / (2 ** bits - 1) > 2 * tol) bits++;
  for (; ; bits++) {
    const p = plan(x, base, bits, fmin, max);
    if (holds(p, x, base, tol)) return write(x.length, p);
    if (bits === 32) throw invalidArgument(`tolerance ${tol} is too small for paper mode: 32-bit deltas cannot meet it`);
  }
}

function write(count: number, p: Plan): Uint8Array {
  return new ByteWriter().u8(MAGIC).u8(VERSION).varint(count).u8(p.bits).f32(p.min).f32(p.step)
    .bytes(packBits(p.codes, p.bits)).finish();
}

/** Header of a paper delta blob, for the cost model and statistics. */
export interface PaperDeltaInfo {
  readonly count: number;
  readonly bits: number;
  readonly min: number;
  readonly step: number;
}

function readHeader(r: ByteReader): PaperDeltaInfo {
  if (r.u8() !== MAGIC) r.fail('not a paper delta blob (bad magic)');
  const version = r.u8();
  if (version !== VERSION) r.fail(`unsupported version ${version}`);
  const count = r.varint();
  const bits = r.u8();
  if (bits < 1 || bits > 32) r.fail(`bad bit width ${bits}`);
  return { count, bits, min: r.f32(), step: r.f32() };
}

/** Reads the header only; throws INVALID_ARGUMENT when malformed. */
export function paperDeltaInfo(blob: Uint8Array): PaperDeltaInfo {
  return readHeader(new ByteReader(blob, 'paper delta'));
}

/**
 * Decodes into a new Float32Array. `base` must be the same base values given to the encoder (null if none).
 * Throws INVALID_ARGUMENT on a malformed or truncated blob or a base of the wrong length.
 */
export function decodePaperDelta(blob: Uint8Array, base: Float32Array | null): Float32Array {
  const r = new ByteReader(blob, 'paper delta');
  const h = readHeader(r);
  if (!Number.isFinite(h.min) || !Number.isFinite(h.step) || h.step < 0) r.fail('bad min/step');
  if (base && base.length !== h.count) throw invalidArgument(`base has ${base.length} elements, blob has ${h.count}`);
  const need = Math.ceil((h.count * h.bits) / 8);
  const codes = unpackBits(r.bytes(need), h.count, h.bits);
  r.end();
  const out = new Float32Array(h.count);
  for (let i = 0; i < h.count; i++) out[i] = (base ? base[i]! : 0) + Math.fround(h.min + codes[i]! * h.step);
  return out;
}
