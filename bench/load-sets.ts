/**
 * Helpers of `bench/load.bench.ts`: best-of-N timing paired with the bytes the process read through read
 * syscalls (`rchar` of /proc/self/io, summed over all threads: the libuv pool and decode workers included),
 * the baseline reader of a safetensors file (read it whole, parse the header, one typed array per tensor, as a
 * user without the store would), and the synthetic fine-tunes of a real base (base + seeded Gaussian noise).
 *
 * safetensors layout read here: u64 LE header length N | N bytes of JSON {name: {dtype, shape, data_offsets:
 * [begin, end]}, "__metadata__"?: {...}} | tensor data, offsets relative to the end of the header.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../src/env/seeded-random.js';
import { writeSafetensorsFile, type TestTensor } from '../src/store/testing/safetensors-files.js';

/** Bytes read through read syscalls so far (0 where /proc is missing: the column then shows '-'). */
export const HAS_PROC_IO = existsSync('/proc/self/io');
export function rchar(): number {
  if (!HAS_PROC_IO) return 0;
  const m = /^rchar:\s*(\d+)/m.exec(readFileSync('/proc/self/io', 'latin1'));
  return m ? Number(m[1]) : 0;
}
/** What one rchar() call itself adds (reading /proc/self/io is a read too). */
const RCHAR_SELF = (() => {
  const a = rchar();
  return rchar() - a;
})();

export interface Measured {
  /** Best time over the runs, in seconds. */
  seconds: number;
  /** Bytes read during the best run. */
  bytes: number;
  /** How many runs were made. */
  runs: number;
}

/**
 * Best of `runs` calls of f, stopping early (after at least `minRuns`) once the calls took `budgetSeconds` in
 * all, so slow rows do not blow the bench's time; `runs` in the result says how many were made.
 */
export async function best(runs: number, f: (run: number) => Promise<unknown> | unknown, minRuns = 2, budgetSeconds = 3): Promise<Measured> {
  let out: Measured = { seconds: Infinity, bytes: 0, runs: 0 };
  let spent = 0;
  for (let r = 0; r < runs && (r < minRuns || spent < budgetSeconds); r++) {
    const c = rchar();
    const t = process.hrtime.bigint();
    await f(r);
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const bytes = rchar() - c - RCHAR_SELF;
    spent += seconds;
    if (seconds < out.seconds) out = { seconds, bytes, runs: 0 };
    out.runs = r + 1;
  }
  return out;
}

/** Best of `runs` of the mean time per call of a fast synchronous f, repeated for at least `minSeconds`. */
export function perCall(runs: number, f: () => unknown, minSeconds = 0.03): number {
  let bestSeconds = Infinity;
  for (let r = 0; r < runs; r++) {
    let n = 0;
    const t = process.hrtime.bigint();
    let el = 0;
    do {
      f();
      n++;
      el = Number(process.hrtime.bigint() - t) / 1e9;
    } while (el < minSeconds);
    bestSeconds = Math.min(bestSeconds, el / n);
  }
  return bestSeconds;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

const ARRAY_OF: Record<string, { new (b: ArrayBuffer, o: number, n: number): ArrayBufferView; BYTES_PER_ELEMENT: number }> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U8: Uint8Array, BOOL: Uint8Array, U16: Uint16Array, U32: Uint32Array, U64: BigUint64Array,
} as never;

/** The tensors of a safetensors file as the file holds them. */
export function parseSafetensors(buf: Uint8Array): Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }> {
  const n = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, n).toString('utf8')) as Record<string, HeaderEntry>;
  const data = 8 + n;
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, e]) => ({ name, dtype: e.dtype, shape: e.shape, bytes: buf.subarray(data + e.data_offsets[0], data + e.data_offsets[1]) }));
}

/** The baseline: read the file, one typed array per tensor (a view when aligned, else a copy). */
export function readSafetensorsArrays(path: string): ArrayBufferView[] {
  return parseSafetensors(readFileSync(path)).map((t) => {
    const A = ARRAY_OF[t.dtype] ?? Uint8Array;
    const b = t.bytes.byteOffset % A.BYTES_PER_ELEMENT === 0 ? t.bytes : new Uint8Array(t.bytes);
    return new A(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / A.BYTES_PER_ELEMENT);
  });
}

/**
 * Writes `count` synthetic fine-tunes of the safetensors file at `basePath` into `dir`: every F32 tensor gets
 * N(0, (noise·std)²) added, std being that tensor's own standard deviation; other tensors are copied.
 * Fine-tune i uses seed 1000 + i. Returns the paths.
 */
export async function writeFineTunes(basePath: string, dir: string, count: number, noise: number): Promise<string[]> {
  const base = parseSafetensors(readFileSync(basePath));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new SeededRandom(1000 + i);
    const tensors: TestTensor[] = base.map((t) => {
      if (t.dtype !== 'F32') return { name: t.name, dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(t.bytes) };
      const v = new Float32Array(new Uint8Array(t.bytes).buffer);
      const sd = stdOf(v) * noise;
      for (let j = 0; j < v.length; j++) v[j] = v[j]! + sd * rng.gaussian();
      return { name: t.name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(v.buffer) };
    });
    out.push(await writeSafetensorsFile(join(dir, `finetune-${i}.safetensors`), tensors));
  }
  return out;
}

function stdOf(v: Float32Array): number {
  let s = 0;
  let s2 = 0;
  for (const x of v) {
    s += x;
    s2 += x * x;
  }
  const mean = s / Math.max(1, v.length);
  return Math.sqrt(Math.max(0, s2 / Math.max(1, v.length) - mean * mean));
}

