/**
 * The one little-endian byte writer/reader of the pure layers (codec blobs, vector-index blobs), with unsigned
 * LEB128 varints. The reader checks every read against the end of its window and throws a NeurStoreError
 * naming the blob and the absolute offset, so a truncated or corrupted encoding fails loudly instead of
 * decoding garbage or raising a RangeError.
 */
import { copyBytes } from './shared-copy.js';
import { corruption, invalidArgument } from '../errors.js';

/** Growable output buffer; every writer method returns `this` so calls can chain. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  /**
   * Makes room for `n` more bytes and returns the offset they start at. It may swap `buf` and `view`, so
   * callers take the offset first and only then touch the buffer.
   */
  private grow(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  u8(v: number): this {
    const at = this.grow(1);
    this.view.setUint8(at, v);
    return this;
  }

  u16(v: number): this {
    const at = this.grow(2);
    this.view.setUint16(at, v, true);
    return this;
  }

  u32(v: number): this {
    const at = this.grow(4);
    this.view.setUint32(at, v >>> 0, true);
    return this;
  }

  i32(v: number): this {
    const at = this.grow(4);
    this.view.setInt32(at, v, true);
    return this;
  }

  f32(v: number): this {
    const at = this.grow(4);
    this.view.setFloat32(at, v, true);
    return this;
  }

  f64(v: number): this {
    const at = this.grow(8);
    this.view.setFloat64(at, v, true);
    return this;
  }

  /** Unsigned varint of a safe integer (up to 2^53). */
  varint(v: number): this {
    while (v >= 0x80) {
      this.u8((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    return this.u8(v);
  }

  /** Copies `b` verbatim. */
  bytes(b: Uint8Array): this {
    const at = this.grow(b.length);
    this.buf.set(b, at);
    return this;
  }

  /** Length-prefixed (varint) byte block. */
  block(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  /** The written bytes (a copy the caller owns). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Copies `parts` one after another into `out` (which must hold them all); returns the bytes copied. */
export function concatInto(parts: readonly Uint8Array[], out: Uint8Array): number {
  let at = 0;
  for (const p of parts) {
    copyBytes(out, p, at);
    at += p.length;
  }
  return at;
}

/** Which NeurStoreError a reader throws: caller-supplied blobs are bad input, stored blobs are corruption. */
export type ByteReaderErrors = 'invalid-argument' | 'corruption';

/** Options of a ByteReader; by default it reads the whole buffer and throws INVALID_ARGUMENT. */
export interface ByteReaderOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** One past the last readable byte (default the buffer's length). */
  end?: number;
  /** Error kind on a short or malformed blob (default 'invalid-argument'). */
  errors?: ByteReaderErrors;
}

/**
 * Bounds-checked reader over `buf[start, end)`; offsets in errors are absolute. Each read takes an optional
 * field name that a truncation error cites.
 */
export class ByteReader {
  pos: number;
  private readonly view: DataView;
  private readonly limit: number;
  private readonly errors: ByteReaderErrors;

  constructor(
    readonly buf: Uint8Array,
    /** The blob's name, used in errors. */
    readonly what: string,
    options: ByteReaderOptions = {},
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = options.start ?? 0;
    this.limit = options.end ?? buf.length;
    this.errors = options.errors ?? 'invalid-argument';
  }

  /** Bytes left before the end of the window. */
  get remaining(): number {
    return this.limit - this.pos;
  }

  /** Throws the reader's error kind naming the blob and the current offset. */
  fail(msg: string): never {
    if (this.errors === 'corruption') throw corruption(this.what, this.pos, msg);
    throw invalidArgument(`${this.what} is malformed at byte ${this.pos}: ${msg}`);
  }

  /** Fails with `msg` at the current offset when `ok` is false. */
  check(ok: boolean, msg: string): void {
    if (!ok) this.fail(msg);
  }

  /** Advances past `n` bytes and returns where they start; fails when fewer are left. */
  private take(n: number, field: string | undefined): number {
    if (this.pos + n > this.limit) {
      const left = this.limit - this.pos;
      this.fail(field === undefined ? `needs ${n} more bytes, ${left} left` : `truncated: ${field} needs ${n} bytes, ${left} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field?: string): number {
    return this.view.getUint8(this.take(1, field));
  }

  u16(field?: string): number {
    return this.view.getUint16(this.take(2, field), true);
  }

  u32(field?: string): number {
    return this.view.getUint32(this.take(4, field), true);
  }

  i32(field?: string): number {
    return this.view.getInt32(this.take(4, field), true);
  }

  f32(field?: string): number {
    return this.view.getFloat32(this.take(4, field), true);
  }

  f64(field?: string): number {
    return this.view.getFloat64(this.take(8, field), true);
  }

  varint(field?: string): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 49) this.fail('varint is too long');
      const b = this.u8(field);
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number, field?: string): Uint8Array {
    const at = this.take(n, field);
    return this.buf.subarray(at, at + n);
  }

  /** A varint-length-prefixed block (a view). */
  block(field?: string): Uint8Array {
    return this.bytes(this.varint(field), field);
  }

  /** Fails unless every byte was consumed (trailing bytes mean a corrupted or mismatched blob). */
  end(): void {
    if (this.pos !== this.limit) this.fail(`${this.limit - this.pos} unexpected trailing bytes`);
  }
}
