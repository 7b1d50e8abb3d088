/**
 * Writes safetensors files, two ways:
 * - `writeSafetensorsVerbatim` re-emits a file the reader saw, byte for byte, from its stored header and the
 *   tensors' bytes (the round trip the store promises);
 * - `writeSafetensors` builds a fresh canonical file from any list of tensors (exporting another format's
 *   model as safetensors), laid out like the reference implementation: compact JSON with `__metadata__`
 *   first, the header padded with spaces to a multiple of 8 so the data buffer starts 8-byte aligned.
 * Both stream: one tensor's bytes are asked for, checked and written at a time.
 */
import { invalidArgument } from '../../errors.js';
import type { ByteSink } from '../byte-source.js';
import { writeTensorBytes, type StoredModel } from '../model-format.js';
import { isSafetensorsDType, SAFETENSORS_DTYPES, safetensorsByteLength } from './safetensors-dtype.js';
import { MAX_HEADER_BYTES, METADATA_KEY, parseSafetensorsHeader, brief, quoted } from './safetensors-header.js';
import { LENGTH_PREFIX_BYTES } from './safetensors-reader.js';

/** A tensor to write: its spec dtype name (any the spec lists), its shape and its size in bytes. */
export interface SafetensorsTensorSpec {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

/** The alignment of the data buffer the reference implementation produces. */
export const HEADER_ALIGNMENT_BYTES = 8;

/**
 * Writes a complete safetensors file to `sink`: the tensors in the given order, `bytesOf(i)` supplying the
 * bytes of `tensors[i]` (called once each, in order). `metadata` (default: none) becomes `__metadata__`.
 * Returns the file size. Throws INVALID_ARGUMENT for a bad name, dtype, shape or byte length, or when
 * `bytesOf` returns the wrong number of bytes (the sink then holds a partial file).
 */
export async function writeSafetensors(
  tensors: readonly SafetensorsTensorSpec[],
  bytesOf: (index: number) => Promise<Uint8Array>,
  sink: ByteSink,
  metadata?: Readonly<Record<string, string>>,
): Promise<number> {
  const header = buildSafetensorsHeader(tensors, metadata);
  await sink.write(lengthPrefix(header.length));
  await sink.write(header);
  let total = LENGTH_PREFIX_BYTES + header.length;
  for (let i = 0; i < tensors.length; i++) {
    total += await writeTensor(sink, tensors[i].name, tensors[i].byteLength, await bytesOf(i));
  }
  return total;
}

/**
 * The canonical header for `tensors` laid out in order from offset 0, padded with spaces to a multiple of 8
 * bytes. Throws INVALID_ARGUMENT naming the bad tensor or metadata entry.
 */
export function buildSafetensorsHeader(
  tensors: readonly SafetensorsTensorSpec[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) parts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata)}`);
  const seen = new Set<string>();
  let offset = 0;
  for (const t of tensors) {
    checkSpec(t, seen);
    const offsets = `[${offset},${offset + t.byteLength}]`;
    const info = `{"dtype":${JSON.stringify(t.dtype)},"shape":[${t.shape.join(',')}],"data_offsets":${offsets}}`;
    parts.push(`${JSON.stringify(t.name)}:${info}`);
    offset += t.byteLength;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / HEADER_ALIGNMENT_BYTES) * HEADER_ALIGNMENT_BYTES;
  if (padded > MAX_HEADER_BYTES) {
    throw invalidArgument(`safetensors header would be ${padded} bytes, over the 100 MB limit`);
  }
  const out = new Uint8Array(padded).fill(0x20);
  out.set(json);
  return out;
}

function metadataJson(metadata: Readonly<Record<string, string>>): string {
  const entries = Object.entries(metadata).map(([k, v]) => {
    if (typeof v !== 'string') throw invalidArgument(`metadata value of key ${quoted(k)} must be a string`);
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  return `{${entries.join(',')}}`;
}

function checkSpec(t: SafetensorsTensorSpec, seen: Set<string>): void {
  if (typeof t.name !== 'string') throw invalidArgument(`tensor name must be a string, got ${typeof t.name}`);
  const where = `tensor ${quoted(t.name)}`;
  if (t.name === METADATA_KEY) throw invalidArgument(`${METADATA_KEY} is reserved and cannot name a tensor`);
  if (seen.has(t.name)) throw invalidArgument(`${where} appears twice`);
  seen.add(t.name);
  if (!isSafetensorsDType(t.dtype)) {
    throw invalidArgument(`${where}: unknown dtype ${quoted(t.dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw invalidArgument(`${where}: shape must be an array of non-negative integers, got ${brief(String(t.shape))}`);
  }
  const elements = t.shape.reduce((a, d) => a * d, 1);
  let expected: number;
  try {
    expected = safetensorsByteLength(t.dtype, elements);
  } catch (e) {
    throw invalidArgument(`${where}: ${(e as Error).message}`);
  }
  if (t.byteLength !== expected) {
    const shape = `[${t.shape.join(', ')}]`;
    throw invalidArgument(`${where}: byteLength ${t.byteLength} but dtype ${t.dtype} with shape ${shape} needs ${expected}`);
  }
}

/**
 * Re-emits a file from its verbatim `header` (as the reader kept it) and its tensors' bytes, `tensorBytes(i)`
 * giving tensor `i` in the header's data order. Returns the file size. Throws INVALID_ARGUMENT when the header
 * is malformed or a tensor has the wrong number of bytes.
 */
export async function writeSafetensorsVerbatim(
  header: Uint8Array,
  tensors: StoredModel | ((index: number) => Promise<Uint8Array>),
  sink: ByteSink,
): Promise<number> {
  const model: StoredModel = typeof tensors === 'function' ? { architecture: header, tensorBytes: tensors } : tensors;
  const parsed = parseSafetensorsHeader(header);
  await sink.write(lengthPrefix(header.length));
  await sink.write(header);
  let total = LENGTH_PREFIX_BYTES + header.length;
  for (let i = 0; i < parsed.tensors.length; i++) {
    const t = parsed.tensors[i];
    const expected = t.end - t.begin;
    if (model.tensorPieces) {
      const n = await writeTensorBytes(model, i, sink);
      if (n !== expected) throw invalidArgument(`tensor ${quoted(t.name)}: expected ${expected} bytes, got ${n} bytes`);
      total += n;
    } else {
      total += await writeTensor(sink, t.name, expected, await model.tensorBytes(i));
    }
  }
  return total;
}

async function writeTensor(sink: ByteSink, name: string, expected: number, bytes: Uint8Array): Promise<number> {
  if (!(bytes instanceof Uint8Array) || bytes.length !== expected) {
    const got = bytes instanceof Uint8Array ? `${bytes.length} bytes` : typeof bytes;
    throw invalidArgument(`tensor ${quoted(name)}: expected ${expected} bytes, got ${got}`);
  }
  if (expected > 0) await sink.write(bytes);
  return expected;
}

function lengthPrefix(length: number): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  return out;
}
