/**
 * Order-0 static rANS over bytes (Duda's range variant of asymmetric numeral systems): one frequency table per
 * blob, normalized to 2^15, a 32-bit state renormalized a byte at a time. It needs no native code, adapts to
 * the very skewed code distributions of quantized deltas, and its final-state check catches most corruption.
 *
 * Byte layout (all integers little-endian, varint = unsigned LEB128):
 *   blob    := mode:u8 length:varint body
 *   mode 0  := (empty input; length = 0, no body)
 *   mode 1  := symbol:u8                          -- every byte equals `symbol`
 *   mode 2  := raw:u8[length]                     -- stored, when rANS would not shrink the input
 *   mode 4  := table state:u32[2] stream:u8[rest]
 *   mode 5  := table state:u32[8] stream:u8[rest]
 *              `table` is the compact frequency table of rans-table.ts (frequencies summing to 2^15); K
 *              interleaved states (K = 2 or 8: symbol i uses state i % K, which lets the CPU overlap K
 *              dependency chains); `stream` is read forward by the decoder: after decoding symbol i, state
 *              i % K takes the bytes it needs. Inputs of at least EIGHT_STATES_MIN bytes use mode 5 (its
 *              decoder runs 1.3x as fast: 135 vs 104 MB/s on the 2-core dev machine, where the same loop
 *              in C -O2 makes 122 MB/s), shorter ones mode 4 (24 bytes fewer, which small tensors feel).
 *   (mode 3, a table of exact symbol:u8 freq:varint pairs, is retired: it is rejected as unknown.)
 */
import { kernels } from '../kernels/kernels.js';
import { ByteReader, ByteWriter, concatInto } from './byte-io.js';
import { chooseTable, readTable } from './rans-table.js';
import { CODED_SCRATCH, ScratchBuffer } from './scratch-buffer.js';

const L = 1 << 23;
/** The modes of a coded blob: two or eight interleaved states. */
const MODE_RANS2 = 4;
const MODE_RANS8 = 5;
/** Inputs at least this long are coded with eight states. */
export const EIGHT_STATES_MIN = 1 << 18;

/** Encodes `input` (not modified). Never grows it by more than a few bytes (falls back to mode 2). */
export function ransEncode(input: Uint8Array): Uint8Array {
  const n = input.length;
  const w = new ByteWriter();
  if (n === 0) return w.u8(0).varint(0).finish();
  const counts = new Uint32Array(256);
  kernels().byteCounts(input, counts);
  if (counts[input[0]!] === n) return w.u8(1).varint(n).u8(input[0]!).finish();
  const table = chooseTable(counts);
  const k = n >= EIGHT_STATES_MIN ? 8 : 2;
  const stream = encodeStream(input, table.freq, k);
  if (table.bytes.length + 4 * k + stream.bytes.length >= n) return w.u8(2).varint(n).bytes(input).finish();
  w.u8(k === 8 ? MODE_RANS8 : MODE_RANS2).varint(n).bytes(table.bytes);
  for (const x of stream.states) w.u32(x);
  const head = w.finish();
  return CODED_SCRATCH.fill(head.length + stream.bytes.length, (blob) => concatInto([head, stream.bytes], blob));
}

/** Scratch for the coded stream (2 bytes per symbol bound the worst case: freq 1 costs 15 bits). */
const streamOut = new ScratchBuffer();

function encodeStream(input: Uint8Array, freq: Uint32Array, k: number): { states: Uint32Array; bytes: Uint8Array } {
  const out = streamOut.get(2 * input.length + 8);
  const states = new Uint32Array(k).fill(L);
  // The hot loop is a kernel (wasm when built, identical TS otherwise); the stream is written back to front.
  const p = kernels().ransEncode(input, freq, states, out);
  return { states, bytes: out.subarray(p) };
}

/**
 * Decodes a blob made by `ransEncode` into `into` when given (it must have exactly the decoded length), else
 * into a new array; returns the decoded bytes. Throws INVALID_ARGUMENT when it is truncated or corrupted.
 */
export function ransDecode(blob: Uint8Array, into?: Uint8Array): Uint8Array {
  const r = new ByteReader(blob, 'rANS block');
  const mode = r.u8();
  const n = r.varint();
  if (n > 2 ** 31) r.fail(`implausible length ${n}`);
  if (into && into.length !== n) r.fail(`decodes to ${n} bytes, expected ${into.length}`);
  if (mode === 0) {
    if (n !== 0) r.fail('empty block with a length');
    r.end();
    return into ?? new Uint8Array(0);
  }
  if (mode === 1) {
    const out = (into ?? new Uint8Array(n)).fill(r.u8());
    r.end();
    return out;
  }
  if (mode === 2) {
    const raw = r.bytes(n);
    r.end();
    if (!into) return raw.slice();
    into.set(raw);
    return into;
  }
  if (mode !== MODE_RANS2 && mode !== MODE_RANS8) r.fail(`unknown mode ${mode}`);
  const parts = readParts(r, n, mode === MODE_RANS8 ? 8 : 2);
  const out = into ?? new Uint8Array(n);
  // The hot loop is a kernel (wasm when built, identical TS otherwise).
  const used = kernels().ransDecode(parts.freq, parts.stream, parts.states, out);
  if (used === -1) r.fail('stream ends early');
  if (used === -2) r.fail('final state mismatch (corrupted stream)');
  r.pos += used;
  r.end();
  return out;
}

/** What the decoding kernel takes from a coded blob: frequencies, initial states and the stream bytes. */
export interface RansStreamParts {
  /** Decoded length. */
  readonly n: number;
  readonly freq: Uint32Array;
  /** Initial states (2 or 8). */
  readonly states: Uint32Array;
  /** From the stream's start to the blob's end (views the blob). */
  readonly stream: Uint8Array;
}

function readParts(r: ByteReader, n: number, k: number): RansStreamParts {
  const freq = readTable(r);
  const states = new Uint32Array(k);
  for (let j = 0; j < k; j++) {
    states[j] = r.u32();
    if (states[j]! < L || states[j]! >= 2 ** 31) r.fail(`bad initial state ${states[j]}`);
  }
  return { n, freq, states, stream: r.buf.subarray(r.pos) };
}

/**
 * The kernel inputs of a blob of `ransEncode` that holds a coded stream, or null when the blob is empty,
 * constant or stored raw (for tests that drive the kernel directly). Throws INVALID_ARGUMENT when malformed.
 */
export function ransStreamParts(blob: Uint8Array): RansStreamParts | null {
  const r = new ByteReader(blob, 'rANS block');
  const mode = r.u8();
  const n = r.varint();
  return mode === MODE_RANS2 || mode === MODE_RANS8 ? readParts(r, n, mode === MODE_RANS8 ? 8 : 2) : null;
}
