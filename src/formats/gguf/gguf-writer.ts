/**
 * Builds a fresh GGUF file (v3 by default) from tensors and metadata: the path for conversions from other formats
 * (safetensors -> GGUF) and for tests. Re-emitting a GGUF the store read goes through `ggufFormat.write` instead,
 * which is byte-identical; this writer lays the file out the way llama.cpp and gguf-py do:
 *
 *   file := "GGUF" | version:u32 | tensorCount:u64 | kvCount:u64 | kv* | tensorInfo* | pad
 *           | (tensor data | pad)*            -- tensors in the given order, each padded to the alignment with zeros
 *
 * (kv and tensorInfo grammar in `gguf-header-reader.ts`). Tensor bytes are fetched one at a time, so a model
 * never has to be in memory whole.
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSink } from '../byte-source.js';
import type { DType } from '../dtype.js';
import { ggmlByteLength, ggmlTypeByName, ggmlTypeForDType, type GgmlType } from './ggml-types.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS } from './gguf-header-reader.js';
import { ByteBuilder, valueTypeId, writeValue, type GgufValue } from './gguf-values.js';

/**
 * One tensor to write; a store `TensorEntry` fits as is. `shape` is the store's row-major shape: for element
 * types the element shape, for block-quantized types (dtype U8 with `ggmlType`) the shape `ggufFormat.read`
 * gives, whose last dimension counts the bytes of one row of blocks.
 */
export interface GgufTensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The ggml type name (e.g. 'Q4_K'); defaults to the element type of `dtype`. */
  readonly ggmlType?: string;
  read(): Promise<Uint8Array>;
}

export interface GgufWriteOptions {
  /** GGUF version to write; default 3. */
  readonly version?: 2 | 3;
  /** Data alignment; default `general.alignment` from the metadata, else 32. Added to the metadata if not 32. */
  readonly alignment?: number;
}

/** A tensor placed in a header being built. */
export interface GgufPlacedTensor {
  readonly name: string;
  readonly type: GgmlType;
  /** ggml order: fastest-varying dimension first. */
  readonly ne: readonly number[];
  readonly offset: number;
  readonly byteLength: number;
}

/** The ggml type and dims a store tensor spec maps to; INVALID_ARGUMENT when it cannot be expressed in GGUF. */
export function ggufPlacement(spec: Pick<GgufTensorSpec, 'name' | 'dtype' | 'shape' | 'ggmlType'>): { type: GgmlType; ne: number[] } {
  const type = spec.ggmlType === undefined ? ggmlTypeForDType(spec.dtype) : ggmlTypeByName(spec.ggmlType);
  if (spec.shape.length > GGUF_MAX_DIMS) {
    throw invalidArgument(`tensor '${spec.name}' has ${spec.shape.length} dimensions; GGUF allows ${GGUF_MAX_DIMS}`);
  }
  const ne = [...spec.shape].reverse();
  if (type.dtype !== undefined) {
    if (type.dtype !== spec.dtype) throw invalidArgument(`tensor '${spec.name}': dtype ${spec.dtype} does not match ggml type ${type.name}`);
    return { type, ne };
  }
  if (spec.dtype !== 'U8') throw invalidArgument(`tensor '${spec.name}': ${type.name} blocks must be given as U8, not ${spec.dtype}`);
  const rowBytes = ne.length === 0 ? 1 : ne[0]!;
  if (rowBytes % type.typeSize !== 0) {
    throw invalidArgument(`tensor '${spec.name}': row of ${rowBytes} bytes is not whole ${type.name} blocks of ${type.typeSize} bytes`);
  }
  if (ne.length === 0) throw invalidArgument(`tensor '${spec.name}': a ${type.name} tensor needs at least one dimension`);
  ne[0] = (rowBytes / type.typeSize) * type.blockSize;
  return { type, ne };
}

/**
 * Encodes the header (magic through alignment padding) and places the tensors one after another, each at an
 * aligned offset. Throws INVALID_ARGUMENT for duplicate names, bad values or a bad alignment.
 */
export function encodeGgufHeader(
  metadata: Iterable<readonly [string, GgufValue]>,
  tensors: readonly { name: string; type: GgmlType; ne: readonly number[] }[],
  options: GgufWriteOptions = {},
): { header: Uint8Array; placed: GgufPlacedTensor[]; alignment: number } {
  const version = options.version ?? 3;
  if (version !== 2 && version !== 3) throw invalidArgument(`GGUF version ${version} cannot be written (2 or 3)`);
  const kvs = withAlignment([...metadata], options.alignment);
  const alignment = alignmentValue(kvs);
  const b = new ByteBuilder();
  b.bytes(GGUF_MAGIC);
  b.u32(version);
  b.u64(tensors.length);
  b.u64(kvs.length);
  for (const [key, value] of kvs) {
    b.string(key);
    b.u32(valueTypeId(value.type, `metadata '${key}'`));
    writeValue(b, value, `metadata '${key}'`);
  }
  const placed: GgufPlacedTensor[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw invalidArgument(`duplicate tensor name '${t.name}'`);
    names.add(t.name);
    const byteLength = ggmlByteLength(t.type, t.ne, t.name);
    placed.push({ ...t, offset, byteLength });
    b.string(t.name);
    b.u32(t.ne.length);
    for (const d of t.ne) b.u64(d);
    b.u32(t.type.id);
    b.u64(offset);
    offset += Math.ceil(byteLength / alignment) * alignment;
  }
  b.pad(alignment);
  return { header: b.result(), placed, alignment };
}

/**
 * Writes a complete GGUF file to `sink`: header, then each tensor's bytes (fetched in order) padded to the
 * alignment. Throws INVALID_ARGUMENT when a tensor cannot be expressed in GGUF or its bytes have the wrong length.
 */
export async function writeGguf(
  metadata: Iterable<readonly [string, GgufValue]>,
  tensors: readonly GgufTensorSpec[],
  sink: ByteSink,
  options: GgufWriteOptions = {},
): Promise<void> {
  const layout = tensors.map((t) => ({ name: t.name, ...ggufPlacement(t) }));
  const { header, placed, alignment } = encodeGgufHeader(metadata, layout, options);
  await sink.write(header);
  for (let i = 0; i < tensors.length; i++) {
    const bytes = await tensors[i]!.read();
    const want = placed[i]!.byteLength;
    if (bytes.length !== want) throw invalidArgument(`tensor '${placed[i]!.name}' has ${bytes.length} bytes, expected ${want}`);
    await sink.write(bytes);
    const pad = (alignment - (want % alignment)) % alignment;
    if (pad > 0) await sink.write(new Uint8Array(pad));
  }
}

function withAlignment(kvs: (readonly [string, GgufValue])[], alignment: number | undefined): (readonly [string, GgufValue])[] {
  const keys = new Set<string>();
  for (const [k] of kvs) {
    if (keys.has(k)) throw invalidArgument(`duplicate metadata key '${k}'`);
    keys.add(k);
  }
  if (alignment === undefined) return kvs;
  const existing = kvs.find(([k]) => k === 'general.alignment');
  if (existing) {
    if (existing[1].type !== 'UINT32' || existing[1].value !== alignment) {
      throw invalidArgument(`alignment option ${alignment} disagrees with metadata general.alignment`);
    }
    return kvs;
  }
  return alignment === GGUF_DEFAULT_ALIGNMENT ? kvs : [...kvs, ['general.alignment', { type: 'UINT32', value: alignment }]];
}

function alignmentValue(kvs: readonly (readonly [string, GgufValue])[]): number {
  const v = kvs.find(([k]) => k === 'general.alignment')?.[1];
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== 'UINT32' || v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw invalidArgument('general.alignment must be a UINT32 power of two');
  }
  return v.value;
}
