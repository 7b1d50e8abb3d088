/**
 * Protobuf output as a list of byte pieces: fields copied from an input message are views into it, new ones
 * are encoded here, and a rewritten submessage is its pieces behind a recomputed length prefix. Nothing is
 * copied until `concat`, so editing a few fields of a large model costs one pass over its bytes.
 *
 * Wire format written (protobuf): field := key varint (number << 3 | wire type) | payload, where payload is a
 * varint (wire type 0) or a length varint followed by that many bytes (wire type 2).
 */

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const UTF8 = new TextEncoder();
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Encoded bytes, kept as pieces; `length` is their total. Pieces are referenced, not copied. */
export class ProtoParts {
  readonly pieces: Uint8Array[] = [];
  length = 0;

  /** Appends bytes (a view is kept: the caller must not change them before `concat`). */
  bytes(b: Uint8Array): this {
    if (b.length > 0) {
      this.pieces.push(b);
      this.length += b.length;
    }
    return this;
  }

  /** Appends another list's pieces. */
  parts(p: ProtoParts): this {
    for (const b of p.pieces) this.pieces.push(b);
    this.length += p.length;
    return this;
  }

  /** A length-delimited field whose payload is `body`. */
  message(no: number, body: ProtoParts): this {
    return this.bytes(key(no, WIRE_LEN)).bytes(varint(body.length)).parts(body);
  }

  /** A length-delimited field holding `b` (bytes, or the little-endian payload of a typed array). */
  blob(no: number, b: Uint8Array): this {
    return this.bytes(key(no, WIRE_LEN)).bytes(varint(b.length)).bytes(b);
  }

  /** A string field (UTF-8). */
  text(no: number, s: string): this {
    return this.blob(no, UTF8.encode(s));
  }

  /** A varint field holding a non-negative integer below 2^53. */
  uint(no: number, v: number): this {
    return this.bytes(key(no, WIRE_VARINT)).bytes(varint(v));
  }

  /** All pieces joined into one new array. */
  concat(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const b of this.pieces) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
}

function key(no: number, wire: number): Uint8Array {
  return varint(no * 8 + wire);
}

/** The varint encoding of a non-negative integer below 2^53. */
function varint(v: number): Uint8Array {
  const out: number[] = [];
  let x = v;
  while (x >= 0x80) {
    out.push((x % 0x80) | 0x80);
    x = Math.floor(x / 0x80);
  }
  out.push(x);
  return Uint8Array.from(out);
}

/** The little-endian bytes of a typed array: a view of it on a little-endian host (copied at `concat`). */
export function leBytes(a: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array): Uint8Array {
  const view = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (LITTLE_ENDIAN || a.BYTES_PER_ELEMENT === 1) return view;
  const out = new Uint8Array(view.length);
  const w = a.BYTES_PER_ELEMENT;
  for (let i = 0; i < view.length; i++) out[i] = view[i - (i % w) + (w - 1 - (i % w))]!;
  return out;
}
