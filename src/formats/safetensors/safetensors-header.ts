/**
 * Parses and validates the JSON header of a safetensors file, as strictly as the reference implementation
 * (huggingface/safetensors) and a little stricter where that is cheap (duplicate keys, which JSON.parse would
 * silently resolve to the last one and so hide a tensor).
 *
 * Pure: works on the header bytes alone; both the reader and the re-emitting writer use it, so a header the
 * reader accepted is understood the same way when the model is written back.
 */
import { invalidArgument } from '../../errors.js';
import { isSafetensorsDType, SAFETENSORS_DTYPES, safetensorsByteLength } from './safetensors-dtype.js';

/** The reference implementation refuses headers above this size; so do we (it bounds memory on hostile input). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Key of the optional string->string map in the header. */
export const METADATA_KEY = '__metadata__';

/** One tensor as the header describes it. Offsets are relative to the start of the data buffer. */
export interface SafetensorsTensorInfo {
  readonly name: string;
  /** The spec's dtype name, which may be one the store keeps as raw bytes (see safetensors-dtype.ts). */
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header. */
export interface SafetensorsHeader {
  /** `__metadata__`, or undefined when the header has none. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Tensors in data order: ascending offsets, ties (empty tensors at one offset) by name. */
  readonly tensors: readonly SafetensorsTensorInfo[];
  /** Bytes of the data buffer the tensors index (the end of the last tensor). */
  readonly dataLength: number;
}

// ignoreBOM keeps a leading byte-order mark in the text, so it fails the '{' check as in the reference.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Validates `header` (the bytes after the 8-byte length prefix). `dataLength` is the size of the data buffer
 * that follows; when given, every byte of it must belong to exactly one tensor. Throws INVALID_ARGUMENT
 * naming the problem (and the tensor) on any violation of the spec.
 */
export function parseSafetensorsHeader(header: Uint8Array, dataLength?: number): SafetensorsHeader {
  const root = parseJsonObject(header);
  let metadata: Record<string, string> | undefined;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [key, value] of Object.entries(root)) {
    if (key === METADATA_KEY) metadata = checkMetadata(value);
    else tensors.push(checkTensor(key, value));
  }
  tensors.sort(byDataOrder);
  const end = checkLayout(tensors, dataLength);
  return { metadata, tensors, dataLength: end };
}

/** Ascending offsets; empty tensors sharing an offset by name (code-unit order), so the order is total. */
function byDataOrder(a: SafetensorsTensorInfo, b: SafetensorsTensorInfo): number {
  return a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function parseJsonObject(header: Uint8Array): Record<string, unknown> {
  let text: string;
  try {
    text = decoder.decode(header);
  } catch {
    throw invalidArgument('safetensors header is not valid UTF-8');
  }
  if (!text.startsWith('{')) throw invalidArgument(`safetensors header must start with '{', got ${quoteStart(text)}`);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`safetensors header is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(root)) throw invalidArgument('safetensors header is not a JSON object');
  const dup = findDuplicateKey(text);
  if (dup !== undefined) throw invalidArgument(`safetensors header has duplicate key ${quoted(dup)}`);
  return root;
}

function quoteStart(text: string): string {
  return text.length === 0 ? 'an empty header' : JSON.stringify(text.slice(0, 16));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw invalidArgument(`${METADATA_KEY} must be an object of strings, got ${kindOf(value)}`);
  }
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw invalidArgument(`${METADATA_KEY} value of key ${quoted(k)} must be a string, got ${kindOf(v)}`);
    }
    out[k] = v;
  }
  return out;
}

function checkTensor(name: string, value: unknown): SafetensorsTensorInfo {
  const where = `tensor ${quoted(name)}`;
  if (!isPlainObject(value)) throw invalidArgument(`${where}: entry must be an object, got ${kindOf(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') throw invalidArgument(`${where}: dtype must be a string, got ${kindOf(dtype)}`);
  if (!isSafetensorsDType(dtype)) {
    throw invalidArgument(`${where}: unknown dtype ${quoted(dtype)} (known: ${SAFETENSORS_DTYPES.join(', ')})`);
  }
  if (!isIntArray(shape)) {
    const got = brief(JSON.stringify(shape) ?? 'nothing');
    throw invalidArgument(`${where}: shape must be an array of non-negative integers, got ${got}`);
  }
  if (!isIntArray(offsets) || offsets.length !== 2 || offsets[0] > offsets[1]) {
    const got = brief(JSON.stringify(offsets) ?? 'nothing');
    throw invalidArgument(`${where}: data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${got}`);
  }
  let expected: number;
  try {
    expected = safetensorsByteLength(dtype, elementsOf(shape, where));
  } catch (e) {
    throw invalidArgument(`${where}: ${(e as Error).message}`);
  }
  const [begin, end] = offsets;
  if (end - begin !== expected) {
    throw invalidArgument(
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but dtype ${dtype} ` +
        `with shape [${shape.join(', ')}] needs ${expected}`,
    );
  }
  return { name, dtype, shape, begin, end };
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0);
}

function elementsOf(shape: readonly number[], where: string): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${where}: shape [${shape.join(', ')}] is too large`);
  return n;
}

/** Tensors sorted by offsets must tile [0, dataLength) exactly: no overlap, no hole, nothing past the end. */
function checkLayout(sorted: readonly SafetensorsTensorInfo[], dataLength: number | undefined): number {
  let cursor = 0;
  let previous: SafetensorsTensorInfo | undefined;
  for (const t of sorted) {
    const where = `tensor ${quoted(t.name)}`;
    if (dataLength !== undefined && t.end > dataLength) {
      throw invalidArgument(
        `${where}: data_offsets [${t.begin}, ${t.end}] run past the end of the ${dataLength}-byte data buffer`,
      );
    }
    if (t.begin < cursor) {
      throw invalidArgument(
        `${where}: data_offsets [${t.begin}, ${t.end}] overlap tensor ${quoted(previous!.name)} ` +
          `[${previous!.begin}, ${previous!.end}]`,
      );
    }
    if (t.begin > cursor) {
      throw invalidArgument(
        `data buffer has a hole: bytes [${cursor}, ${t.begin}) belong to no tensor (before ${where})`,
      );
    }
    cursor = t.end;
    previous = t;
  }
  if (dataLength !== undefined && cursor < dataLength) {
    throw invalidArgument(
      `data buffer has a hole: bytes [${cursor}, ${dataLength}) after the last tensor belong to no tensor`,
    );
  }
  return cursor;
}

function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${brief(JSON.stringify(v))}`;
}

/** Error messages quote names and values, cut to a readable length (a hostile header can hold megabytes). */
export function brief(text: string, max = 120): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} chars)`;
}

/** A name as error messages show it: JSON-quoted, cut to a readable length. */
export function quoted(name: string): string {
  return brief(JSON.stringify(name));
}

/**
 * First key that appears twice in one object of `text`, which must already be valid JSON. A single pass
 * with a stack of key sets: cheap next to JSON.parse itself.
 */
export function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(j); j < n && d !== 0x22; d = text.charCodeAt(j)) {
        if (d === 0x5c) (escaped = true), (j += 2);
        else j++;
      }
      const keys = stack[stack.length - 1];
      if (keys && nextNonSpace(text, j + 1) === 0x3a) {
        // Only keys with escapes need decoding; "\u0061" and "a" must compare equal.
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    } else if (c === 0x7b) stack.push(new Set());
    else if (c === 0x5b) stack.push(null);
    else if (c === 0x7d || c === 0x5d) stack.pop();
  }
  return undefined;
}

function nextNonSpace(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  return c;
}
