/**
 * GGUF metadata values: the 13 value types, a typed in-memory form, and their decoder and encoder.
 *
 * Grammar (little-endian; `string := len:u64 | utf8 bytes`):
 *   value  := UINT8 u8 | INT8 i8 | UINT16 u16 | INT16 i16 | UINT32 u32 | INT32 i32 | FLOAT32 f32 | BOOL u8
 *           | STRING string | UINT64 u64 | INT64 i64 | FLOAT64 f64
 *           | ARRAY elemType:u32 | count:u64 | count x value-of-elemType   (arrays may nest)
 * Values carry their type, so a file read and written back keeps every key's exact type.
 */
import { invalidArgument, isNeurStoreError } from '../../errors.js';
import type { GgufCursor } from './gguf-cursor.js';

export const GGUF_VALUE_TYPES = [
  'UINT8', 'INT8', 'UINT16', 'INT16', 'UINT32', 'INT32', 'FLOAT32', 'BOOL', 'STRING', 'ARRAY', 'UINT64', 'INT64', 'FLOAT64',
] as const;

/** A value type's name; its id in the file is its index in `GGUF_VALUE_TYPES`. */
export type GgufValueType = (typeof GGUF_VALUE_TYPES)[number];

/** Every value type but ARRAY. */
export type GgufScalarType = Exclude<GgufValueType, 'ARRAY'>;
type NumberType = 'UINT8' | 'INT8' | 'UINT16' | 'INT16' | 'UINT32' | 'INT32' | 'FLOAT32' | 'FLOAT64';
/** The JS value of a scalar: number, bigint (64-bit integers, so no bit is lost), boolean or string. */
export type GgufScalar = number | bigint | boolean | string;

/**
 * An array value. Elements of scalar arrays are plain JS values (not one object each: vocabularies hold
 * 100k+ entries); nested arrays hold arrays.
 */
export type GgufArray =
  | { type: 'ARRAY'; elementType: NumberType; items: number[] }
  | { type: 'ARRAY'; elementType: 'UINT64' | 'INT64'; items: bigint[] }
  | { type: 'ARRAY'; elementType: 'BOOL'; items: boolean[] }
  | { type: 'ARRAY'; elementType: 'STRING'; items: string[] }
  | { type: 'ARRAY'; elementType: 'ARRAY'; items: GgufArray[] };

/** One metadata value with its exact type, so a key read and written back keeps its type. */
export type GgufValue =
  | { type: NumberType; value: number }
  | { type: 'UINT64' | 'INT64'; value: bigint }
  | { type: 'BOOL'; value: boolean }
  | { type: 'STRING'; value: string }
  | GgufArray;

/** Deepest array nesting accepted; real files nest at most once, and the cap keeps recursion bounded. */
export const MAX_ARRAY_DEPTH = 8;

const FIXED_BYTES: Partial<Record<GgufValueType, number>> = {
  UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, UINT32: 4, INT32: 4, FLOAT32: 4, BOOL: 1, UINT64: 8, INT64: 8, FLOAT64: 8,
};

/** Smallest encoding of one value of a type: bounds how many elements an array can claim. */
function minBytes(type: GgufValueType): number {
  return FIXED_BYTES[type] ?? (type === 'STRING' ? 8 : 12);
}

/** The value type with id `id`; INVALID_ARGUMENT naming `what` when unknown. */
export function valueTypeById(id: number, what: string): GgufValueType {
  const t = GGUF_VALUE_TYPES[id];
  if (t === undefined) throw invalidArgument(`unknown GGUF value type ${id} for ${what}`);
  return t;
}

/** Reads a GGUF string; its length is checked against the file before any allocation. */
export function readString(c: GgufCursor, what: string): string {
  return c.utf8(c.count(what, c.remaining - 8, 'length of '), what);
}

/** Reads one value of `type` (its type id already consumed). May throw the cursor's NeedMore: run it in `c.run`. */
export function readValue(c: GgufCursor, type: GgufValueType, what: string): GgufValue {
  if (type === 'ARRAY') return readArray(c, what, 0);
  return { type, value: readScalar(c, type, what) } as GgufValue;
}

function readScalar(c: GgufCursor, type: GgufScalarType, what: string): GgufScalar {
  if (type === 'STRING') return readString(c, what);
  const [dv, at] = c.fixed(FIXED_BYTES[type]!, what);
  switch (type) {
    case 'UINT8': return dv.getUint8(at);
    case 'INT8': return dv.getInt8(at);
    case 'UINT16': return dv.getUint16(at, true);
    case 'INT16': return dv.getInt16(at, true);
    case 'UINT32': return dv.getUint32(at, true);
    case 'INT32': return dv.getInt32(at, true);
    case 'FLOAT32': return dv.getFloat32(at, true);
    case 'FLOAT64': return dv.getFloat64(at, true);
    case 'BOOL': return dv.getUint8(at) !== 0;
    case 'UINT64': return dv.getBigUint64(at, true);
    default: return dv.getBigInt64(at, true);
  }
}

function readArray(c: GgufCursor, what: string, depth: number): GgufArray {
  if (depth >= MAX_ARRAY_DEPTH) throw invalidArgument(`${what}: arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
  const elementType = valueTypeById(c.u32(`element type of ${what}`), `elements of ${what}`);
  const count = c.count(`element count of ${what}`, Math.floor((c.remaining - 8) / minBytes(elementType)));
  const items: unknown[] = new Array(count);
  if (elementType === 'ARRAY') {
    for (let i = 0; i < count; i++) items[i] = readArray(c, `${what}[${i}]`, depth + 1);
    return { type: 'ARRAY', elementType, items } as GgufArray;
  }
  const fixed = FIXED_BYTES[elementType];
  if (fixed !== undefined) c.need(fixed * count, what); // load once rather than fail and retry per element
  let i = 0;
  let start = c.pos;
  try {
    // Element names are built only on failure: a string per element made large vocabularies slow.
    for (; i < count; i++, start = c.pos) items[i] = readScalar(c, elementType, what);
  } catch (e) {
    if (!isNeurStoreError(e)) throw e;
    // Read the failing element again under its own name, so the message names it (`what[i]`), not the array.
    c.pos = start;
    readScalar(c, elementType, `${what}[${i}]`);
    throw e;
  }
  return { type: 'ARRAY', elementType, items } as GgufArray;
}

/** Growable little-endian byte buffer for the header writer. */
export class ByteBuilder {
  private buf = new Uint8Array(256);
  private dv = new DataView(this.buf.buffer);
  private node = Buffer.from(this.buf.buffer);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
      this.node = Buffer.from(grown.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  // room() may swap the buffer, so it runs before the buffer is read.
  u8(v: number): void { const at = this.room(1); this.dv.setUint8(at, v); }
  u32(v: number): void { const at = this.room(4); this.dv.setUint32(at, v, true); }
  u64(v: number | bigint): void {
    const at = this.room(8);
    if (typeof v === 'bigint') return this.dv.setBigUint64(at, v, true);
    this.dv.setUint32(at, v % 2 ** 32, true); // a safe integer: no BigInt per length field
    this.dv.setUint32(at + 4, Math.floor(v / 2 ** 32), true);
  }
  bytes(b: Uint8Array): void { const at = this.room(b.length); this.buf.set(b, at); }
  /** Room for `n` bytes: the DataView to write them through and their offset in it. */
  reserve(n: number): [DataView, number] { const at = this.room(n); return [this.dv, at]; }
  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.u64(n);
    const at = this.room(n);
    this.node.write(s, at, n, 'utf8');
  }
  /** Appends zeros up to a multiple of `alignment`. */
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    this.room(n);
  }
  /** The bytes written so far (a copy). */
  result(): Uint8Array { return this.buf.slice(0, this.length); }
}

/** The id of a value type name; INVALID_ARGUMENT naming `what` when it is not one. */
export function valueTypeId(type: string, what: string): number {
  const id = (GGUF_VALUE_TYPES as readonly string[]).indexOf(type);
  if (id < 0) throw invalidArgument(`${what}: unknown GGUF value type '${type}'`);
  return id;
}

/** Writes one value (without its type id); INVALID_ARGUMENT when the value does not fit its type. */
export function writeValue(b: ByteBuilder, v: GgufValue, what: string): void {
  if (v.type === 'ARRAY') return writeArray(b, v, what);
  valueTypeId(v.type, what);
  writeScalar(b, v.type, v.value, what);
}

function writeArray(b: ByteBuilder, v: GgufArray, what: string): void {
  b.u32(valueTypeId(v.elementType, `elements of ${what}`));
  const items: readonly unknown[] = v.items;
  if (!Array.isArray(items)) throw invalidArgument(`${what}: array items must be an array`);
  b.u64(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (v.elementType === 'ARRAY') {
      if ((item as GgufArray | undefined)?.type !== 'ARRAY') throw invalidArgument(`${what}[${i}] is not an ARRAY, array holds ARRAY`);
      writeArray(b, item as GgufArray, `${what}[${i}]`);
    } else {
      writeScalar(b, v.elementType, item, what, i);
    }
  }
}

function writeScalar(b: ByteBuilder, type: GgufScalarType, raw: unknown, what: string, index?: number): void {
  if (type === 'STRING') {
    if (typeof raw !== 'string') throw badScalar(type, raw, what, index);
    return b.string(raw);
  }
  if (type === 'BOOL') {
    if (typeof raw !== 'boolean') throw badScalar(type, raw, what, index);
    return b.u8(raw ? 1 : 0);
  }
  if (type === 'UINT64' || type === 'INT64') {
    const ok = typeof raw === 'bigint' && (type === 'UINT64' ? BigInt.asUintN(64, raw) : BigInt.asIntN(64, raw)) === raw;
    if (!ok) throw badScalar(type, raw, what, index);
    const [dv, at] = b.reserve(8);
    return type === 'UINT64' ? dv.setBigUint64(at, raw, true) : dv.setBigInt64(at, raw, true);
  }
  if (typeof raw !== 'number' || !inRange(type, raw)) throw badScalar(type, raw, what, index);
  const [dv, at] = b.reserve(FIXED_BYTES[type]!);
  switch (type) {
    case 'FLOAT32': return dv.setFloat32(at, raw, true);
    case 'FLOAT64': return dv.setFloat64(at, raw, true);
    case 'UINT8': return dv.setUint8(at, raw);
    case 'INT8': return dv.setInt8(at, raw);
    case 'UINT16': return dv.setUint16(at, raw, true);
    case 'INT16': return dv.setInt16(at, raw, true);
    case 'UINT32': return dv.setUint32(at, raw, true);
    default: return dv.setInt32(at, raw, true);
  }
}

function badScalar(type: GgufScalarType, raw: unknown, what: string, index: number | undefined): Error {
  return invalidArgument(`${what}${index === undefined ? '' : `[${index}]`}: ${String(raw)} is not a ${type}`);
}

const INT_RANGE: Partial<Record<GgufScalarType, [number, number]>> = {
  UINT8: [0, 0xff], INT8: [-0x80, 0x7f], UINT16: [0, 0xffff], INT16: [-0x8000, 0x7fff],
  UINT32: [0, 0xffffffff], INT32: [-0x80000000, 0x7fffffff],
};

function inRange(type: GgufScalarType, value: number): boolean {
  const r = INT_RANGE[type];
  return r === undefined || (Number.isInteger(value) && value >= r[0] && value <= r[1]);
}
