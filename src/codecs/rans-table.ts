/**
 * The compact frequency table of the rANS coder (rans-coder.ts). A table of 256 exact frequencies costs
 * ~3 bytes per present symbol, which on a small tensor is a large share of its whole encoding (on the face-api
 * models, ~10 KB over 81 tensors). So the table stores each present symbol's count rounded to a tiny float
 * (a "level" with `b` mantissa bits), delta-coded in exp-Golomb bits; the encoder prices every `b` by the
 * exact table bits plus the stream's cost under the rounded table and keeps the cheapest. Encoder and
 * decoder rebuild the same 2^15-sum frequencies from the levels with `normalizeFrequencies`.
 *
 * Bit layout (bit k is bit k % 8 of byte k / 8; padded with zero bits to a whole byte):
 *   table  := b:3 k:2 run+ delta[nsym]
 *   run    := exp-Golomb(0) of run lengths alternating absent, present, absent, ... from symbol 0: the first
 *             (absent) run as its length, every later run as length - 1; the runs cover exactly 256 symbols
 *   delta  := exp-Golomb(k) of zigzag(level - previous level), for each present symbol in order (the
 *             level before the first is 0); every level is >= 1
 *   level q -> weight: with B = 2^b and e = max(0, floor(q / B) - 1), weight = (q - e*B) * 2^e
 *             (levels below 2B are weights as they are; above, a float with b mantissa bits)
 */
import { ByteReader } from './byte-io.js';

/** rANS frequencies sum to 2^SCALE_BITS (the decoding kernel's fixed precision). */
export const SCALE_BITS = 15;
const M = 1 << SCALE_BITS;
/** Weights stay below 2^MAX_WEIGHT_BITS, so weight * M is an exact double. */
const MAX_WEIGHT_BITS = 32;

/**
 * Scales weights to frequencies summing to 2^15, every nonzero weight keeping at least 1. Pure integer-valued
 * double arithmetic, so the encoder and decoder agree on every platform. At least one weight must be nonzero.
 */
export function normalizeFrequencies(weights: ArrayLike<number>): Uint32Array {
  let total = 0;
  for (let s = 0; s < 256; s++) total += weights[s]!;
  const freq = new Uint32Array(256);
  let sum = 0;
  let top = 0;
  for (let s = 0; s < 256; s++) {
    const w = weights[s]!;
    if (w === 0) continue;
    freq[s] = Math.max(1, Math.floor((w * M) / total));
    sum += freq[s]!;
    if (w > weights[top]!) top = s;
  }
  // The heaviest symbol holds at least M/256 slots, more than the at most 255 slots the others were raised by.
  freq[top] = freq[top]! + M - sum;
  return freq;
}

/** 2^e for e in 0..63: a table, because `2 ** e` is a slow call on some engines and runs per symbol. */
const POW2 = Float64Array.from({ length: 64 }, (_, e) => 2 ** e);

function levelOf(v: number, b: number): number {
  const B = 1 << b;
  if (v < 2 * B) return v;
  let e = 31 - Math.clz32(v) - b;
  let m = Math.round(v / POW2[e]!);
  if (m === 2 * B) {
    m = B;
    e++;
  }
  return e * B + m;
}

function weightOf(q: number, b: number): number {
  const B = 1 << b;
  const e = Math.max(0, Math.floor(q / B) - 1);
  return e < 64 ? (q - e * B) * POW2[e]! : Infinity;
}

let LOG2: Float64Array | undefined;
/** log2(f) for f in 0..2^15, built on first use: pricing a table takes a log per symbol and candidate. */
function log2Table(): Float64Array {
  LOG2 ??= Float64Array.from({ length: M + 1 }, (_, f) => Math.log2(f));
  return LOG2;
}

const zigzag = (d: number): number => (d >= 0 ? 2 * d : -2 * d - 1);

/** Bits of the exp-Golomb code of order k of v >= 0. */
function golombBits(v: number, k: number): number {
  return 2 * (31 - Math.clz32((v >>> k) + 1)) + 1 + k;
}

/** Appends bits least-significant first. */
class BitWriter {
  private readonly out: number[] = [];
  private acc = 0;
  private n = 0;

  bits(v: number, count: number): void {
    for (let i = 0; i < count; i++) {
      this.acc |= ((v >>> i) & 1) << this.n;
      if (++this.n === 8) {
        this.out.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
  }

  golomb(v: number, k: number): void {
    const u = (v >>> k) + 1;
    const len = 31 - Math.clz32(u);
    this.bits(0, len);
    this.bits(1, 1);
    this.bits(u, len); // the bits of u below its leading 1
    this.bits(v, k);
  }

  finish(): Uint8Array {
    if (this.n > 0) this.out.push(this.acc);
    return Uint8Array.from(this.out);
  }
}

/** Reads bits from a ByteReader's buffer; `done` moves the reader past the whole bytes used. */
class BitReader {
  private bit = 0;

  constructor(private readonly r: ByteReader) {}

  bits(count: number): number {
    let v = 0;
    for (let i = 0; i < count; i++, this.bit++) {
      const byte = this.r.pos + (this.bit >>> 3);
      if (byte >= this.r.buf.length) this.r.fail('frequency table is truncated');
      v |= ((this.r.buf[byte]! >>> (this.bit & 7)) & 1) << i;
    }
    return v >>> 0;
  }

  golomb(k: number): number {
    let len = 0;
    while (this.bits(1) === 0) if (++len > 24) this.r.fail('bad code in frequency table');
    return ((((1 << len) | this.bits(len)) - 1) << k) + this.bits(k);
  }

  done(): void {
    this.r.pos += (this.bit + 7) >>> 3;
  }
}

/** Alternating absent/present run lengths over the 256 symbols, starting with an absent run (maybe 0). */
function runsOf(present: (s: number) => boolean): number[] {
  const runs: number[] = [];
  let s = 0;
  for (let want = false; s < 256; want = !want) {
    const start = s;
    while (s < 256 && present(s) === want) s++;
    runs.push(s - start);
  }
  return runs;
}

/** A table chosen for some counts: the frequencies the stream is coded with, and the table's bytes. */
export interface ChosenTable {
  readonly freq: Uint32Array;
  readonly bytes: Uint8Array;
}

/** The zigzagged differences the table stores for `levels`. */
const deltasOf = (levels: readonly number[]): number[] => levels.map((q, i) => zigzag(q - (i === 0 ? 0 : levels[i - 1]!)));

interface Candidate {
  /** Table bits plus stream bits. */
  readonly cost: number;
  readonly b: number;
  readonly k: number;
  readonly levels: readonly number[];
  readonly freq: Uint32Array;
}

/** Prices the table with `b` mantissa bits (and its best Golomb order) for `counts`. */
function price(counts: Uint32Array, symbols: readonly number[], runBits: number, b: number): Candidate {
  const levels = new Array<number>(symbols.length);
  const weights = new Float64Array(256);
  const kBits = new Float64Array(4);
  for (let i = 0, prev = 0; i < symbols.length; i++) {
    const q = levelOf(counts[symbols[i]!]!, b);
    levels[i] = q;
    weights[symbols[i]!] = weightOf(q, b);
    const d = zigzag(q - prev);
    prev = q;
    for (let k = 0; k < 4; k++) kBits[k] += golombBits(d, k);
  }
  const freq = normalizeFrequencies(weights);
  let cost = 5 + runBits;
  const log2 = log2Table();
  for (const s of symbols) cost += counts[s]! * (SCALE_BITS - log2[freq[s]!]!);
  let k = 0;
  for (let j = 1; j < 4; j++) if (kBits[j]! < kBits[k]!) k = j;
  return { cost: cost + kBits[k]!, b, k, levels, freq };
}

/** Picks the mantissa bits and Golomb order that minimize table bits + coded stream bits for `counts`. */
export function chooseTable(counts: Uint32Array): ChosenTable {
  const symbols: number[] = [];
  for (let s = 0; s < 256; s++) if (counts[s]! > 0) symbols.push(s);
  const runs = runsOf((s) => counts[s]! > 0);
  const runBits = runs.reduce((a, len, i) => a + golombBits(i === 0 ? len : len - 1, 0), 0);
  const best = [0, 1, 2, 3, 4, 5, 6, 7]
    .map((b) => price(counts, symbols, runBits, b))
    .reduce((x, y) => (y.cost < x.cost ? y : x));
  const w = new BitWriter();
  w.bits(best.b, 3);
  w.bits(best.k, 2);
  runs.forEach((len, i) => w.golomb(i === 0 ? len : len - 1, 0));
  for (const d of deltasOf(best.levels)) w.golomb(d, best.k);
  return { freq: best.freq, bytes: w.finish() };
}

/** Reads a table written by `chooseTable` at the reader's position; fails (INVALID_ARGUMENT) when malformed. */
export function readTable(r: ByteReader): Uint32Array {
  const bits = new BitReader(r);
  const b = bits.bits(3);
  const k = bits.bits(2);
  const present: number[] = [];
  for (let s = 0, want = false, first = true; s < 256; want = !want, first = false) {
    const len = bits.golomb(0) + (first ? 0 : 1);
    if (s + len > 256) r.fail('frequency table runs exceed 256 symbols');
    if (want) for (let i = 0; i < len; i++) present.push(s + i);
    s += len;
  }
  if (present.length === 0) r.fail('frequency table has no symbols');
  const weights = new Float64Array(256);
  let q = 0;
  for (const s of present) {
    const z = bits.golomb(k);
    q += z & 1 ? -(z + 1) / 2 : z / 2;
    const w = q >= 1 ? weightOf(q, b) : 0;
    if (!(w >= 1 && w < 2 ** MAX_WEIGHT_BITS)) r.fail(`bad frequency level ${q} for symbol ${s}`);
    weights[s] = w;
  }
  bits.done();
  return normalizeFrequencies(weights);
}
