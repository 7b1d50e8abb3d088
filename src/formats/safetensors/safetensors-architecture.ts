/**
 * The architecture blob of a safetensors model: what the store keeps besides the tensors, enough to rebuild
 * the file byte for byte. The header is kept verbatim (key order, spacing, padding, extra fields, the real
 * dtype of tensors the store holds as raw bytes) rather than re-serialized, because any re-serialization
 * would lose some of those.
 *
 * Byte layout (little-endian):
 *
 *   architecture := version:u8                      -- 1; bumped whenever this layout changes
 *                   fileNameLength:u16 fileName:utf8[fileNameLength]
 *                   header:byte[*]                  -- the rest: the file's JSON header, N bytes, as stored
 *
 * The tensor order is not stored separately: in version 1 it is the header's data order (ascending
 * data_offsets, empty tensors sharing an offset by name), which `parseSafetensorsHeader` computes and which the
 * reader used to number the tensors. The file is rebuilt as u64(N) header tensor_0 .. tensor_{n-1}.
 */
import { invalidArgument, notSupported } from '../../errors.js';

export const ARCHITECTURE_VERSION = 1;

/** A decoded architecture blob. `header` is a view into the blob. */
export interface SafetensorsArchitecture {
  readonly fileName: string;
  readonly header: Uint8Array;
}

const MAX_NAME_BYTES = 0xffff;

/** Encodes a file name and its verbatim header. Throws INVALID_ARGUMENT when the name is over 65535 bytes. */
export function encodeSafetensorsArchitecture(fileName: string, header: Uint8Array): Uint8Array {
  const name = Buffer.from(fileName, 'utf8');
  if (name.length > MAX_NAME_BYTES) throw invalidArgument(`file name is ${name.length} bytes, over ${MAX_NAME_BYTES}`);
  const out = new Uint8Array(3 + name.length + header.length);
  out[0] = ARCHITECTURE_VERSION;
  new DataView(out.buffer).setUint16(1, name.length, true);
  out.set(name, 3);
  out.set(header, 3 + name.length);
  return out;
}

/**
 * Decodes a blob made by `encodeSafetensorsArchitecture`. Throws NOT_SUPPORTED for a version this build does
 * not know, INVALID_ARGUMENT when the blob is truncated.
 */
export function decodeSafetensorsArchitecture(blob: Uint8Array): SafetensorsArchitecture {
  if (blob.length < 1) throw invalidArgument('safetensors architecture is empty');
  if (blob[0] !== ARCHITECTURE_VERSION) {
    throw notSupported(
      `safetensors architecture version ${blob[0]} is not supported (this build knows ${ARCHITECTURE_VERSION})`,
    );
  }
  if (blob.length < 3) throw invalidArgument('safetensors architecture is truncated before its file name length');
  const nameLength = new DataView(blob.buffer, blob.byteOffset, blob.length).getUint16(1, true);
  if (3 + nameLength > blob.length) {
    throw invalidArgument(`safetensors architecture is truncated: file name of ${nameLength} bytes runs past its end`);
  }
  const fileName = Buffer.from(blob.subarray(3, 3 + nameLength)).toString('utf8');
  return { fileName, header: blob.subarray(3 + nameLength) };
}
