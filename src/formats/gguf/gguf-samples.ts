/**
 * Sample GGUF content for tests and benchmarks: metadata of every value type, synthetic quantized blocks, and
 * the tensors of a safetensors file turned into GGUF tensor specs. No real GGUF ships in our fixtures, so the
 * tests build files from real tensors with `writeGguf`. Pure: bytes in, specs out; randomness is seeded.
 */
import type { SeededRandom } from '../../env/seeded-random.js';
import { invalidArgument } from '../../errors.js';
import type { DType } from '../dtype.js';
import { isDType } from '../dtype.js';
import { ggmlTypeByName } from './ggml-types.js';
import { ByteBuilder, valueTypeId, writeValue, type GgufArray, type GgufValue } from './gguf-values.js';
import type { GgufTensorSpec } from './gguf-writer.js';

/** Metadata holding every value type, including empty and nested arrays and 64-bit extremes. */
export function sampleMetadata(): [string, GgufValue][] {
  const ints = (items: number[]): GgufArray => ({ type: 'ARRAY', elementType: 'INT32', items });
  return [
    ['general.architecture', { type: 'STRING', value: 'llama' }],
    ['general.name', { type: 'STRING', value: 'mnist ✓ gguf' }],
    ['test.u8', { type: 'UINT8', value: 255 }],
    ['test.i8', { type: 'INT8', value: -128 }],
    ['test.u16', { type: 'UINT16', value: 65535 }],
    ['test.i16', { type: 'INT16', value: -32768 }],
    ['test.u32', { type: 'UINT32', value: 4294967295 }],
    ['test.i32', { type: 'INT32', value: -2147483648 }],
    ['test.f32', { type: 'FLOAT32', value: 0.5 }],
    ['test.bool.true', { type: 'BOOL', value: true }],
    ['test.bool.false', { type: 'BOOL', value: false }],
    ['test.u64', { type: 'UINT64', value: 18446744073709551615n }],
    ['test.i64', { type: 'INT64', value: -9223372036854775808n }],
    ['test.f64', { type: 'FLOAT64', value: -1.25e300 }],
    ['test.empty_string', { type: 'STRING', value: '' }],
    ['tokenizer.ggml.tokens', { type: 'ARRAY', elementType: 'STRING', items: ['<s>', '</s>', 'héllo', ''] }],
    ['tokenizer.ggml.scores', { type: 'ARRAY', elementType: 'FLOAT32', items: [0, -1.5, 2.25, 3] }],
    ['test.array.u8', { type: 'ARRAY', elementType: 'UINT8', items: [0, 1, 254, 255] }],
    ['test.array.i64', { type: 'ARRAY', elementType: 'INT64', items: [-1n, 0n, 1n << 62n] }],
    ['test.array.bool', { type: 'ARRAY', elementType: 'BOOL', items: [true, false] }],
    ['test.array.empty', { type: 'ARRAY', elementType: 'UINT32', items: [] }],
    ['test.array.nested', { type: 'ARRAY', elementType: 'ARRAY', items: [ints([1, -2]), ints([]), ints([3])] }],
  ];
}

/** A spec whose bytes are given. */
export function bytesSpec(name: string, dtype: DType, shape: number[], bytes: Uint8Array, ggmlType?: string): GgufTensorSpec {
  return { name, dtype, shape, ggmlType, read: async () => bytes };
}

/** A block-quantized tensor of `rows` x `cols` elements filled with seeded random blocks. */
export function quantizedSpec(name: string, ggmlType: string, rows: number, cols: number, rand: SeededRandom): GgufTensorSpec {
  const t = ggmlTypeByName(ggmlType);
  const rowBytes = (cols / t.blockSize) * t.typeSize;
  return bytesSpec(name, 'U8', [rows, rowBytes], rand.bytes(rows * rowBytes), ggmlType);
}

/** The tensors of a safetensors file (u64 header length, JSON header, data), as GGUF specs in header order. */
export function safetensorsSpecs(file: Uint8Array, prefix = ''): GgufTensorSpec[] {
  const dv = new DataView(file.buffer, file.byteOffset, file.length);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  const specs: GgufTensorSpec[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: [a, b] } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!isDType(dtype)) throw invalidArgument(`unknown safetensors dtype ${dtype}`);
    specs.push(bytesSpec(prefix + name, dtype, shape, file.subarray(8 + n + a, 8 + n + b)));
  }
  return specs;
}

/** One tensor info written as given, unchecked: for files with chosen (or deliberately wrong) layouts. */
export interface RawTensorInfo {
  readonly name: string;
  readonly ne: readonly (number | bigint)[];
  readonly type: number;
  readonly offset: number | bigint;
  /** Written instead of ne.length when set (to lie about n_dims). */
  readonly nDims?: number;
}

/**
 * A GGUF header written field by field without validation, so tests can build odd but valid layouts and
 * every kind of malformed file. `kvs` is the already-encoded key/value section; padding to `alignment` (default 32)
 * is appended unless `alignment` is 0.
 */
export function rawGgufHeader(o: {
  version?: number; tensorCount?: bigint; kvCount: number | bigint; kvs: Uint8Array; infos: readonly RawTensorInfo[]; alignment?: number;
}): Uint8Array {
  const b = new ByteBuilder();
  b.bytes(Uint8Array.of(0x47, 0x47, 0x55, 0x46));
  b.u32(o.version ?? 3);
  b.u64(o.tensorCount ?? BigInt(o.infos.length));
  b.u64(o.kvCount);
  b.bytes(o.kvs);
  for (const t of o.infos) {
    b.string(t.name);
    b.u32(t.nDims ?? t.ne.length);
    for (const d of t.ne) b.u64(d);
    b.u32(t.type);
    b.u64(t.offset);
  }
  if ((o.alignment ?? 32) > 0) b.pad(o.alignment ?? 32);
  return b.result();
}

/** Encodes key/value pairs as a GGUF kv section. */
export function encodeKvs(kvs: readonly (readonly [string, GgufValue])[]): Uint8Array {
  const b = new ByteBuilder();
  for (const [key, value] of kvs) {
    b.string(key);
    b.u32(valueTypeId(value.type, key));
    writeValue(b, value, key);
  }
  return b.result();
}
