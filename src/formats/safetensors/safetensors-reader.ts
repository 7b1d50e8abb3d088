/**
 * Reads a safetensors file: an 8-byte little-endian header length N, N bytes of JSON header, then the data
 * buffer the header indexes. Only the prefix and the header are read here; each tensor's bytes are fetched
 * on demand by its `TensorEntry.read()`, so a multi-gigabyte file is never held in memory.
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';
import type { TensorEntry } from '../model-format.js';
import { storeView } from './safetensors-dtype.js';
import type { SafetensorsHeader } from './safetensors-header.js';
import { MAX_HEADER_BYTES, parseSafetensorsHeader } from './safetensors-header.js';

/** Size of the header-length prefix. */
export const LENGTH_PREFIX_BYTES = 8;

/** A parsed safetensors file. Tensor bytes stay in the source until read. */
export interface SafetensorsFile {
  /** The header exactly as stored (N bytes, padding included): kept so the file can be re-emitted verbatim. */
  readonly headerBytes: Uint8Array;
  readonly header: SafetensorsHeader;
  /** File offset of the data buffer (8 + N). */
  readonly dataOffset: number;
  /** One entry per tensor, in data order (the order of `header.tensors`). */
  readonly tensors: readonly TensorEntry[];
}

/**
 * Reads the header length of a safetensors file from its first 8 bytes and checks it against the limit and
 * the file size. Throws INVALID_ARGUMENT naming the problem.
 */
export function headerLengthOf(prefix: Uint8Array, fileSize: number): number {
  if (fileSize < LENGTH_PREFIX_BYTES) {
    throw invalidArgument(
      `safetensors file is ${fileSize} bytes, shorter than its 8-byte header length: the file is cut short; ` +
        'download or copy it again',
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_PREFIX_BYTES);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw invalidArgument(
      `safetensors header is ${n} bytes, over the limit of ${MAX_HEADER_BYTES} bytes (100 MB) that safetensors ` +
        'readers accept (the reference implementation too): a header this large is corrupt, or holds data that ' +
        'belongs in tensors; export the model again with its __metadata__ under the limit',
    );
  }
  const length = Number(n);
  if (LENGTH_PREFIX_BYTES + length > fileSize) {
    throw invalidArgument(
      `safetensors header length ${length} runs past the end of the file (${fileSize} bytes, header would end at ` +
        `${LENGTH_PREFIX_BYTES + length}): the file is cut short; download or copy it again`,
    );
  }
  return length;
}

/**
 * Parses the file behind `source`, reading only its first 8 + N bytes. The returned entries read from
 * `source` later, so it must stay open while they are used; what `read()` returns is whatever the source
 * returns (it may be a view of the source's memory: treat it as read-only). Throws INVALID_ARGUMENT when the
 * file is malformed.
 */
export async function readSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const size = source.size;
  const prefix = size >= LENGTH_PREFIX_BYTES ? await source.read(0, LENGTH_PREFIX_BYTES) : new Uint8Array(0);
  const length = headerLengthOf(prefix, size);
  const headerBytes = (await source.read(LENGTH_PREFIX_BYTES, length)).slice();
  const dataOffset = LENGTH_PREFIX_BYTES + length;
  const header = parseSafetensorsHeader(headerBytes, size - dataOffset);
  const tensors = header.tensors.map((t): TensorEntry => {
    const byteLength = t.end - t.begin;
    const view = storeView(t.dtype, t.shape, byteLength);
    return {
      name: t.name,
      dtype: view.dtype,
      shape: view.shape,
      byteLength,
      read: async () => (byteLength === 0 ? new Uint8Array(0) : source.read(dataOffset + t.begin, byteLength)),
      readRange: (offset: number, length: number, into?: Uint8Array) => source.read(dataOffset + t.begin + offset, length, into),
    };
  });
  return { headerBytes, header, dataOffset, tensors };
}
