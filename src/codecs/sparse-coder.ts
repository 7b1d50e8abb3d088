/**
 * The sparse coder (entropy coder id 3): for a byte plane in which one value dominates (the high byte of a
 * fine-tune XORed with its base: ~90% zero bytes). A Huffman coder spends at least a bit on every byte there
 * (zstd: 16% of the plane where its entropy is 9%); splitting the plane into a bitmap of the bytes that differ
 * from the dominant value and the list of those bytes gives two streams Huffman codes near their entropy
 * (9.6% of the plane on that example), and both decode at zstd speed.
 *
 * Byte layout (varint = unsigned LEB128):
 *   blob   := length:varint fill:u8 others:varint map:part values:part
 *   part   := coder:u8 bytes:varint-length-prefixed    (a coder of entropy-coder.ts, not itself sparse)
 *   map    := ceil(length / 8) bytes: bit (i % 8) of byte (i / 8) is set when byte i differs from `fill`;
 *             bits past `length` are zero; exactly `others` bits are set
 *   values := the `others` bytes that differ from `fill`, in order
 * The parts' coders are passed in (entropy-coder.ts wires them), so this module has no coder registry.
 */
import { ByteReader, ByteWriter, concatInto } from './byte-io.js';
import { codecKernels } from '../kernels/codec-kernels.js';
import { CODED_SCRATCH, ScratchBuffer } from './scratch-buffer.js';

const mapScratch = new ScratchBuffer();
const valuesScratch = new ScratchBuffer();

/** Encodes one part; returns its coder id and bytes. */
export type PartEncoder = (part: Uint8Array) => { coder: number; bytes: Uint8Array };
/** Decodes a part of coder `id` into `out` (exactly its length), throwing INVALID_ARGUMENT when it does not fit. */
export type PartDecoder = (id: number, part: Uint8Array, out: Uint8Array) => void;

/** The most frequent byte of `input` (the lowest on ties) and how often it occurs. */
export function dominantByte(input: Uint8Array): { value: number; count: number } {
  const counts = new Uint32Array(256);
  for (let i = 0; i < input.length; i++) counts[input[i]!]!++;
  let value = 0;
  for (let s = 1; s < 256; s++) if (counts[s]! > counts[value]!) value = s;
  return { value, count: counts[value]! };
}

/** Codes `input` against `fill` (any byte value decodes right; the most frequent one codes smallest). */
export function encodeSparse(input: Uint8Array, fill: number, encodePart: PartEncoder): Uint8Array {
  const n = input.length;
  const map = mapScratch.get((n + 7) >>> 3);
  const values = valuesScratch.get(n);
  const others = codecKernels().sparseSplit(input, fill, map, values);
  const pieces = [new ByteWriter().varint(n).u8(fill).varint(others).finish()];
  for (const part of [map, values.subarray(0, others)]) {
    const e = encodePart(part);
    pieces.push(new ByteWriter().u8(e.coder).varint(e.bytes.length).finish(), e.bytes); // e.bytes may be a scratch view
  }
  // Assembled where coded results go (CODED_SCRATCH): a ByteWriter grew through fresh buffers and copied twice.
  return CODED_SCRATCH.fill(pieces.reduce((t, p) => t + p.length, 0), (into) => concatInto(pieces, into));
}

/** The length a sparse blob decodes to (its header); INVALID_ARGUMENT when unreadable. */
export function sparseLength(blob: Uint8Array): number {
  return new ByteReader(blob, 'sparse block').varint();
}

export function decodeSparse(blob: Uint8Array, out: Uint8Array, decodePart: PartDecoder): void {
  const r = new ByteReader(blob, 'sparse block');
  const n = r.varint();
  if (n !== out.length) r.fail(`decodes to ${n} bytes, expected ${out.length}`);
  const fill = r.u8();
  const others = r.varint();
  if (others > n) r.fail(`${others} differing bytes in ${n}`);
  const mapId = r.u8();
  const mapBytes = r.block();
  const valuesId = r.u8();
  const valuesBytes = r.block();
  r.end();
  if (mapId === 3 || valuesId === 3) r.fail('nested sparse part');
  const map = mapScratch.get((n + 7) >>> 3);
  const values = valuesScratch.get(others);
  decodePart(mapId, mapBytes, map);
  decodePart(valuesId, valuesBytes, values);
  if (codecKernels().sparseMerge(map, values, fill, out) !== 0) r.fail('bitmap does not match its count of differing bytes');
}
