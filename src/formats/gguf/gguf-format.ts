/**
 * GGUF (llama.cpp's model format) as a `ModelFormat`: one file, header then aligned tensor data.
 *
 * `read` loads only the header region and the few padding bytes between tensors; each tensor's bytes are read
 * when asked. Element tensors (F32, F16, BF16, F64, I8..I64) keep their dtype; block-quantized tensors become
 * `U8` tensors of their exact block bytes with shape [ne3.., ne1, bytesPerRow] (the real ggml type lives in the
 * architecture), so identical quantized weights dedup exactly. Store shapes are row-major: GGUF's `ne` reversed.
 * `write` rebuilds the file byte for byte (see `gguf-architecture.ts`).
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';
import { writeTensorBytes, type ModelFormat, type ModelLayout, type ModelSink, type ModelSource, type StoredModel, type TensorEntry } from '../model-format.js';
import { decodeGgufArchitecture, encodeGgufArchitecture, type GgufArchitecture } from './gguf-architecture.js';
import { readSource } from './gguf-cursor.js';
import { dataOrder, hasGgufMagic, readGgufHeader, type GgufHeader, type GgufTensorInfo } from './gguf-header-reader.js';

/** Bytes not covered by any tensor that `read` will copy into the architecture; more means a malformed file. */
export const MAX_GAP_BYTES = 16 * 1024 * 1024;

/** The GGUF format. Single-file models only; INVALID_ARGUMENT for anything malformed. */
export const ggufFormat: ModelFormat = {
  name: 'gguf',

  async detect(source: ModelSource): Promise<boolean> {
    if (source.files.length !== 1) return false;
    const src = await source.open(source.files[0]!);
    if (src.size < 8) return false;
    return hasGgufMagic(await readSource(src, 0, 4));
  },

  async read(source: ModelSource): Promise<ModelLayout> {
    if (source.files.length !== 1) throw invalidArgument(`a GGUF model is one file, got ${source.files.length}`);
    const fileName = source.files[0]!;
    const src = await source.open(fileName);
    const header = await readGgufHeader(src);
    const gaps = await readGaps(src, header);
    const architecture = encodeGgufArchitecture({ fileName, header: header.headerBytes, tensors: header.tensors, gaps });
    return { format: 'gguf', architecture, tensors: header.tensors.map((t) => tensorEntry(src, header.dataStart, t)) };
  },

  async write(model: StoredModel, sink: ModelSink): Promise<void> {
    const arch = decodeGgufArchitecture(model.architecture);
    const out = await sink.create(arch.fileName);
    try {
      await writeBody(arch, model, out);
    } finally {
      await out.close();
    }
  },
};

/** The store shape of a tensor: `ne` reversed, the row measured in bytes for block types. */
export function ggufStoreShape(t: Pick<GgufTensorInfo, 'ne' | 'type'>): number[] {
  const shape = [...t.ne].reverse();
  if (t.type.dtype === undefined && shape.length > 0) {
    shape[shape.length - 1] = (shape[shape.length - 1]! / t.type.blockSize) * t.type.typeSize;
  }
  return shape;
}

function tensorEntry(src: ByteSource, dataStart: number, t: GgufTensorInfo): TensorEntry {
  return {
    name: t.name,
    dtype: t.type.dtype ?? 'U8',
    shape: ggufStoreShape(t),
    byteLength: t.byteLength,
    // A copy (Buffer#slice would not copy), so the caller owns it and cannot scribble on the source's buffer.
    read: async () => (t.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(await readSource(src, dataStart + t.offset, t.byteLength))),
    readRange: async (offset: number, length: number) => new Uint8Array(await readSource(src, dataStart + t.offset + offset, length)),
  };
}

/** The bytes before each tensor (in data order) and after the last; capped so a sparse file cannot blow up. */
async function readGaps(src: ByteSource, header: GgufHeader): Promise<Uint8Array[]> {
  const spans: [number, number][] = [];
  let end = 0;
  for (const t of dataOrder(header.tensors)) {
    const start = Math.max(end, t.offset);
    spans.push([end, start]);
    end = Math.max(end, t.offset + t.byteLength);
  }
  const dataBytes = Math.max(0, src.size - header.dataStart);
  spans.push([end, dataBytes]);
  const total = spans.reduce((n, [a, b]) => n + (b - a), 0);
  if (total > MAX_GAP_BYTES) {
    throw invalidArgument(`GGUF data region has ${total} bytes outside any tensor (at most ${MAX_GAP_BYTES} accepted)`);
  }
  const gaps: Uint8Array[] = [];
  for (const [a, b] of spans) gaps.push(b > a ? await readSource(src, header.dataStart + a, b - a) : new Uint8Array(0));
  return gaps;
}

async function writeBody(arch: GgufArchitecture, model: StoredModel, out: { write(b: Uint8Array): Promise<void> }): Promise<void> {
  await out.write(arch.header);
  const order = dataOrder(arch.tensors.map((t, index) => ({ ...t, index })));
  for (let k = 0; k < order.length; k++) {
    const t = order[k]!;
    await out.write(arch.gaps[k]!);
    const n = await writeTensorBytes(model, t.index, out);
    if (n !== t.byteLength) {
      throw invalidArgument(`GGUF tensor #${t.index} has ${n} bytes, the architecture says ${t.byteLength}`);
    }
  }
  await out.write(arch.gaps[order.length]!);
}
