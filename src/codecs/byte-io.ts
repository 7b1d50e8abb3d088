/**
 * Tiny little-endian byte writer/reader with unsigned LEB128 varints, shared by the codec byte layouts.
 * The reader checks every read against the end of the blob and throws INVALID_ARGUMENT naming the blob and
 * the offset, so a truncated or corrupted encoding fails loudly instead of decoding garbage.
 */
import { invalidArgument } from '../errors.js';

/** Growable output buffer. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  f32(v: number): this {
    this.reserve(4);
    new DataView(this.buf.buffer).setFloat32(this.len, v, true);
    this.len += 4;
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

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
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

/** Bounds-checked reader over an encoded blob. */
export class ByteReader {
  pos = 0;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Throws INVALID_ARGUMENT naming the blob and the current offset. */
  fail(msg: string): never {
    throw invalidArgument(`${this.what} is malformed at byte ${this.pos}: ${msg}`);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) this.fail(`needs ${n} more bytes, ${this.buf.length - this.pos} left`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf[this.pos]! | (this.buf[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  varint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 49) this.fail('varint is too long');
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  }

  /** A view (not a copy) of the next `n` bytes. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  block(): Uint8Array {
    return this.bytes(this.varint());
  }

  /** Throws unless every byte was consumed (trailing bytes mean a corrupted or mismatched blob). */
  end(): void {
    if (this.pos !== this.buf.length) this.fail(`${this.buf.length - this.pos} unexpected trailing bytes`);
  }
}
