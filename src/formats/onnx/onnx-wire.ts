/**
 * A minimal protobuf wire-format reader: splits a message's bytes into fields without decoding them, so the
 * scanner can note where each tensor payload sits and leave every other byte as the file has it.
 *
 * Every length and varint is bounds-checked against the enclosing message; a lie (a length past the end,
 * an 11-byte varint, a group or unknown wire type) is an INVALID_ARGUMENT naming the byte offset.
 */
import { invalidArgument } from '../../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

/** One field of a message. For `WIRE_LEN`, `start..end` is the payload; otherwise the encoded value. */
export interface WireField {
  readonly no: number;
  readonly wire: number;
  readonly start: number;
  readonly end: number;
  /** Decoded value of a varint field (0 for other wire types); a bigint only when above 2^53. */
  readonly varint: number | bigint;
}

/**
 * A varint and the offset just past it. Short varints (the common case: keys, lengths, small ints) stay
 * numbers; only 8- to 10-byte ones go through BigInt. Throws INVALID_ARGUMENT when truncated or too long.
 */
export function readVarint(buf: Uint8Array, pos: number, end: number): { value: number | bigint; next: number } {
  let value = 0;
  for (let i = 0; i < 7; i++) {
    if (pos + i >= end) throw invalidArgument(`truncated varint at byte ${pos}`);
    const b = buf[pos + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return { value, next: pos + i + 1 };
  }
  return readLongVarint(buf, pos, end);
}

function readLongVarint(buf: Uint8Array, pos: number, end: number): { value: number | bigint; next: number } {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) throw invalidArgument(`truncated varint at byte ${pos}`);
    const b = buf[pos + i]!;
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) {
      const v = BigInt.asUintN(64, value);
      return { value: v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v, next: pos + i + 1 };
    }
  }
  throw invalidArgument(`varint longer than 10 bytes at byte ${pos}`);
}

/** Reads one field starting at `pos`; returns it and the offset of the next one. */
export function readField(buf: Uint8Array, pos: number, end: number): { field: WireField; next: number } {
  const key = readVarint(buf, pos, end);
  if (typeof key.value !== 'number' || key.value > 0xffffffff) throw invalidArgument(`field key too large at byte ${pos}`);
  const no = Math.floor(key.value / 8);
  const wire = key.value % 8;
  if (no === 0) throw invalidArgument(`field number 0 at byte ${pos}`);
  const at = key.next;
  switch (wire) {
    case WIRE_VARINT: {
      const v = readVarint(buf, at, end);
      return { field: { no, wire, start: at, end: v.next, varint: v.value }, next: v.next };
    }
    case WIRE_FIXED64:
    case WIRE_FIXED32: {
      const size = wire === WIRE_FIXED64 ? 8 : 4;
      if (at + size > end) throw invalidArgument(`truncated fixed${size * 8} field ${no} at byte ${pos}`);
      return { field: { no, wire, start: at, end: at + size, varint: 0 }, next: at + size };
    }
    case WIRE_LEN: {
      const len = readVarint(buf, at, end);
      if (typeof len.value !== 'number' || len.value > end - len.next) {
        throw invalidArgument(`field ${no} at byte ${pos} claims ${len.value} bytes, only ${end - len.next} remain`);
      }
      const stop = len.next + len.value;
      return { field: { no, wire, start: len.next, end: stop, varint: 0 }, next: stop };
    }
    default:
      throw invalidArgument(`unsupported wire type ${wire} (field ${no}) at byte ${pos}`);
  }
}

/** All fields of the message in `buf[start..end)`, in file order. */
export function readFields(buf: Uint8Array, start: number, end: number): WireField[] {
  const out: WireField[] = [];
  let pos = start;
  while (pos < end) {
    const { field, next } = readField(buf, pos, end);
    out.push(field);
    pos = next;
  }
  return out;
}

/** Throws INVALID_ARGUMENT unless `field` has the wire type the schema gives it. */
export function expectWire(field: WireField, wire: number, what: string): void {
  if (field.wire !== wire) {
    throw invalidArgument(`${what} (field ${field.no}) has wire type ${field.wire}, expected ${wire}`);
  }
}

/** A varint field as a signed 64-bit value (proto int64/int32 sign-extend to 10 bytes). */
export function signedVarint(field: WireField): bigint {
  return BigInt.asIntN(64, BigInt(field.varint));
}

/** Every varint packed in `buf[start..end)` (a packed repeated int field). */
export function readPackedVarints(buf: Uint8Array, start: number, end: number): Array<number | bigint> {
  const out: Array<number | bigint> = [];
  let pos = start;
  while (pos < end) {
    const v = readVarint(buf, pos, end);
    out.push(v.value);
    pos = v.next;
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** A length-delimited field's payload as UTF-8 text. */
export function fieldText(buf: Uint8Array, field: WireField): string {
  return UTF8.decode(buf.subarray(field.start, field.end));
}
