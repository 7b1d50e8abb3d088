/**
 * `npm run bench:codecs`: the lossless coders side by side in one run, single thread: stored bytes (ratio),
 * encode MB/s and decode MB/s per core, every tensor decoded and compared with its original bytes. Data sets:
 *   - fixtures: every distinct tensor of the real models (MNIST checkpoints, face-api, human-models, Silero),
 *     each with its dtype's width, as the store's lossless mode codes them (tensors under 64 bytes skipped);
 *   - LLM bf16: a generated transformer-shaped tensor set (seeded, weights N(0, 0.02) in bf16, --llm-mb MB,
 *     default 64), and its fine-tune (the same + N(0, 0.001)) coded against it (XOR), cached in .cache/.
 * Methods: zstd -3 of the tensor bytes; ZipNN's method (byte planes, each zstd -3); the lossless codec with
 * rANS planes (the choice before version 3); byte planes with zstd at the plane setting alone; the codec's
 * default (zstd plane setting + sparse coder); effort max (smallest of every coder per plane). Against a base
 * every method codes the XOR of the fine-tune with its base (timed). Then checksum throughput on the LLM
 * bytes: SHA-256 (node:crypto), CRC-32 (node:zlib), XXH32 (wasm, and its TS fallback).
 * Flags: --llm-mb N, --reps N (best of N timings, default 2), --only fixtures|llm, --method SUBSTRING (the
 * methods whose name holds it, and rANS), --json.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeLossless, encodeLossless, type LosslessOptions } from '../src/codecs/lossless.js';
import { ZSTD_CODER, ZSTD_PLANE_CODER, zstdCompress } from '../src/codecs/entropy-coder.js';
import { toBf16Bits } from '../src/codecs/half-float.js';
import { kernels } from '../src/kernels/kernels.js';
import { TS_CODEC_KERNELS, codecKernels, wasmCodecKernels } from '../src/kernels/codec-kernels.js';
import { SeededRandom } from '../src/env/seeded-random.js';
import { dtypeBytes } from '../src/formats/dtype.js';
import { table } from '../src/cli/format-output.js';
import { PROJECT_ROOT, ensureFixtures } from '../scripts/fetch-fixtures.js';
import { fixtureModelSets, mnistCheckpointSet } from './model-sets.js';
import { loadModelSet } from './baselines/loaded-set.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const LLM_MB = Number(arg('llm-mb') ?? 64);
const REPS = Math.max(1, Number(arg('reps') ?? 2));
const ONLY = arg('only');
const METHOD = arg('method');
const JSON_OUT = process.argv.includes('--json');
const log = (s: string): void => {
  if (!JSON_OUT) console.error(s);
};

/** One tensor to code: its bytes, element width and (fine-tunes) the base it is coded against. */
interface Item {
  readonly bytes: Uint8Array;
  readonly width: number;
  readonly base: Uint8Array | null;
}

interface DataSet {
  readonly label: string;
  readonly items: readonly Item[];
}

interface Method {
  readonly name: string;
  encode(t: Item): Uint8Array;
  /** Decodes into `out` (the tensor's length, allocated by the caller: see `allocationRow`). */
  decode(blob: Uint8Array, t: Item, out: Uint8Array): Uint8Array;
}

function xorWith(bytes: Uint8Array, base: Uint8Array | null): Uint8Array {
  if (!base) return bytes;
  const out = new Uint8Array(bytes.length);
  kernels().xorBytes(bytes, base, out);
  return out;
}

/** The lossless codec with `options`. */
function lossless(name: string, options: LosslessOptions): Method {
  return {
    name,
    encode: (t) => encodeLossless(t.bytes, t.width, t.base, options),
    decode: (blob, t, out) => decodeLossless(blob, t.base, () => out),
  };
}

const METHODS: readonly Method[] = [
  {
    name: 'zstd -3 (tensor bytes)',
    encode: (t) => zstdCompress(xorWith(t.bytes, t.base), { level: 3 }),
    decode: (blob, t, out) => {
      ZSTD_CODER.decodeInto(blob, out);
      if (t.base) kernels().xorBytes(out, t.base, out);
      return out;
    },
  },
  lossless('ZipNN: byte planes + zstd -3', { coders: [ZSTD_CODER] }),
  lossless('rANS planes (before v3)', { effort: 'rans' }),
  lossless('byte planes + zstd plane setting', { coders: [ZSTD_PLANE_CODER] }),
  lossless('default v3: zstd plane + sparse', { effort: 'default' }),
  lossless('effort max (smallest per plane)', { effort: 'max' }),
];

/**
 * CPU seconds (user + system, this process) of the fastest of REPS runs of `work`, and its last result. CPU
 * time, not wall time: on a shared machine other jobs' time would count; the bench runs on one thread (the
 * process's few helper threads, GC and the like, count against it).
 */
function best<T>(work: () => T): { value: T; seconds: number } {
  let seconds = Infinity;
  let value!: T;
  for (let r = 0; r < REPS; r++) {
    const t0 = process.cpuUsage();
    value = work();
    const t = process.cpuUsage(t0);
    seconds = Math.min(seconds, (t.user + t.system) / 1e6);
  }
  return { value, seconds };
}

interface Row {
  dataset: string;
  method: string;
  bytesIn: number;
  bytesOut: number;
  ratio: number;
  encodeMBs: number;
  decodeMBs: number;
}

function run(set: DataSet, m: Method): Row {
  const bytesIn = set.items.reduce((n, t) => n + t.bytes.length, 0);
  const enc = best(() => set.items.map((t) => m.encode(t)));
  const blobs = enc.value;
  const outs = set.items.map((t) => new Uint8Array(t.bytes.length));
  const dec = best(() => blobs.map((b, i) => m.decode(b, set.items[i]!, outs[i]!)));
  dec.value.forEach((d, i) => {
    if (!Buffer.from(d.buffer, d.byteOffset, d.length).equals(Buffer.from(set.items[i]!.bytes))) {
      throw new Error(`${m.name} on ${set.label}: tensor ${i} does not decode to its original bytes`);
    }
  });
  const bytesOut = blobs.reduce((n, b) => n + b.length, 0);
  return {
    dataset: set.label, method: m.name, bytesIn, bytesOut, ratio: bytesIn / bytesOut,
    encodeMBs: bytesIn / 1e6 / enc.seconds, decodeMBs: bytesIn / 1e6 / dec.seconds,
  };
}

async function fixtureSet(): Promise<DataSet> {
  ensureFixtures();
  const sets = [mnistCheckpointSet(), ...fixtureModelSets().filter((s) => !s.label.includes('faceres ->'))];
  const seen = new Set<string>();
  const items: Item[] = [];
  for (const s of sets) {
    for (const model of (await loadModelSet(s)).models) {
      for (const t of model.tensors) {
        const id = createHash('sha256').update(t.bytes).digest('hex');
        if (t.bytes.length < 64 || seen.has(id)) continue;
        seen.add(id);
        items.push({ bytes: t.bytes, width: dtypeBytes(t.dtype), base: null });
      }
    }
  }
  return { label: `fixtures (${items.length} distinct tensors)`, items };
}

/** Transformer-shaped tensors: per layer q, k, v, o [h, h], up [4h, h], down [h, 4h]; h = 1024. */
function llmShapes(mb: number): number[] {
  const h = 1024;
  const layer = [h * h, h * h, h * h, h * h, 4 * h * h, 4 * h * h];
  const layers = Math.max(1, Math.round((mb * 2 ** 20) / (2 * 12 * h * h)));
  return Array.from({ length: layers }, () => layer).flat();
}

/** bf16 bytes of N(mean[i], std) draws (mean 0 without a base), seeded. */
function gaussianBf16(n: number, std: number, rng: SeededRandom, base: Uint8Array | null): Uint8Array {
  const out = new Uint16Array(n);
  const b = base ? new Uint16Array(base.buffer, base.byteOffset, n) : null;
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    if (b) {
      u[0] = b[i]! << 16;
      mean = f[0]!;
    }
    out[i] = toBf16Bits(mean + std * rng.gaussian());
  }
  return new Uint8Array(out.buffer);
}

/** The generated LLM and its fine-tune, from .cache/codecs-bench/ when already made. */
function llmSets(): DataSet[] {
  const dir = join(PROJECT_ROOT, '.cache', 'codecs-bench');
  mkdirSync(dir, { recursive: true });
  const shapes = llmShapes(LLM_MB);
  const total = shapes.reduce((a, b) => a + b, 0) * 2;
  const file = (kind: string) => join(dir, `llm-bf16-${total}-${kind}.bin`);
  if (!existsSync(file('base')) || !existsSync(file('tune'))) {
    log(`generating the bf16 LLM (${(total / 2 ** 20).toFixed(0)} MiB) and its fine-tune in ${dir}`);
    const rng = new SeededRandom(20261206);
    const base = shapes.map((n) => gaussianBf16(n, 0.02, rng, null));
    const tune = base.map((b) => gaussianBf16(b.length / 2, 0.001, rng, b));
    writeFileSync(file('base'), Buffer.concat(base));
    writeFileSync(file('tune'), Buffer.concat(tune));
  }
  const base = new Uint8Array(readFileSync(file('base')));
  const tune = new Uint8Array(readFileSync(file('tune')));
  const cut = (all: Uint8Array) => {
    let at = 0;
    return shapes.map((n) => all.subarray(at, (at += 2 * n)));
  };
  const b = cut(base);
  const t = cut(tune);
  const mib = (total / 2 ** 20).toFixed(0);
  return [
    { label: `LLM bf16 ${mib} MiB, N(0, 0.02)`, items: b.map((bytes) => ({ bytes, width: 2, base: null })) },
    { label: `its fine-tune (+N(0, 0.001)), XOR base`, items: t.map((bytes, i) => ({ bytes, width: 2, base: b[i]! })) },
  ];
}

/**
 * What allocating (and touching) each decoded tensor's memory costs, in MB/s of tensor bytes: the decode rows
 * decode into buffers allocated beforehand, because on this VM a fresh large array's page faults can cost
 * more than decoding into it (a store should reuse that memory: its cache, a pool).
 */
function allocationMBs(set: DataSet): number {
  const bytes = set.items.reduce((n, t) => n + t.bytes.length, 0);
  return bytes / 1e6 / best(() => set.items.map((t) => new Uint8Array(t.bytes.length).fill(1))).seconds;
}

interface ChecksumRow {
  checksum: string;
  GBs: number;
}

/** Throughput of each checksum over `chunks` (GB/s, best of REPS). */
function checksums(chunks: readonly Uint8Array[]): ChecksumRow[] {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const rows: Array<[string, (c: Uint8Array) => unknown]> = [
    ['SHA-256 (node:crypto)', (c) => createHash('sha256').update(c).digest()],
    ['CRC-32 (node:zlib crc32)', (c) => crc32(c)],
    [`XXH32 (${wasmCodecKernels() ? 'wasm, with the copy into its memory' : 'TS: wasm not built'})`, (c) => codecKernels().xxh32(c, 0)],
    ['XXH32 (plain TS)', (c) => TS_CODEC_KERNELS.xxh32(c, 0)],
  ];
  return rows.map(([checksum, f]) => ({ checksum, GBs: total / 1e9 / best(() => chunks.forEach(f)).seconds }));
}

const header = {
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  reps: REPS,
};
const sets: DataSet[] = [];
if (ONLY !== 'llm') sets.push(await fixtureSet());
if (ONLY !== 'fixtures') sets.push(...llmSets());
const rows: Row[] = [];
const allocation: Record<string, number> = {};
for (const s of sets) {
  allocation[s.label] = allocationMBs(s);
  for (const m of METHODS.filter((x) => !METHOD || x.name.includes(METHOD) || x.name.startsWith('rANS'))) {
    log(`${s.label}: ${m.name}`);
    rows.push(run(s, m));
  }
}
const llm = sets.find((s) => s.label.startsWith('LLM')) ?? sets[0]!;
// Checksums over 4 MiB chunks of the largest set (the chunk size a streamed load would verify).
const data = Buffer.concat(llm.items.map((t) => t.bytes));
const chunks: Uint8Array[] = [];
for (let at = 0; at < data.length; at += 4 << 20) chunks.push(data.subarray(at, Math.min(data.length, at + (4 << 20))));
const sums = checksums(chunks);

if (JSON_OUT) {
  console.log(JSON.stringify({ header, rows, allocationMBs: allocation, checksums: sums }, null, 2));
} else {
  console.log(`bench:codecs  node ${header.node}  CPU ${header.cpu}, ${header.cores} cores  (single thread; MB/s per CPU second, best of ${REPS})`);
  for (const s of sets) {
    const rans = rows.find((r) => r.dataset === s.label && r.method.startsWith('rANS'))!;
    console.log(`\n${s.label}: ${(rans.bytesIn / 1e6).toFixed(1)} MB (allocating the decoded arrays afresh: ${allocation[s.label]!.toFixed(0)} MB/s, not in the decode column)`);
    console.log(table(
      ['method', 'stored MB', 'ratio', 'vs rANS', 'encode MB/s', 'decode MB/s'],
      rows.filter((r) => r.dataset === s.label).map((r) => [
        r.method, (r.bytesOut / 1e6).toFixed(2), `${r.ratio.toFixed(3)}x`, `${(((r.bytesOut / rans.bytesOut) - 1) * 100).toFixed(1)}%`,
        r.encodeMBs.toFixed(0), r.decodeMBs.toFixed(0),
      ]),
    ));
  }
  console.log(`\nchecksums over ${chunks.length} chunks of 4 MiB (${(data.length / 1e6).toFixed(0)} MB):`);
  console.log(table(['checksum', 'GB/s'], sums.map((c) => [c.checksum, c.GBs.toFixed(2)])));
}
