/**
 * An incremental parser of PostgreSQL's binary COPY format (`COPY ... TO STDOUT (FORMAT binary)`), for the
 * rows `infer` streams: chunks of any size go in, whole tuples (arrays of field bytes, null for NULL) come out.
 *
 *   file    := signature "PGCOPY\n\377\r\n\0" (11 bytes), flags int32, extension length int32 + bytes,
 *              tuple*, trailer int16 = -1
 *   tuple   := field count int16, (length int32 (-1 = NULL), bytes)*
 *
 * and the value decoders it needs: a one-dimensional `real[]` (header ndim, has-null flag, element OID, per
 * dimension size and lower bound, then per element length int32 + big-endian float4) and text. All integers
 * are big-endian (network order).
 */
import { invalidArgument } from '../errors.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const FLOAT4_OID = 700;

export class CopyBinaryParser {
  private buf: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private ended = false;

  /** Appends `chunk` and returns the tuples now complete (each an array of field bytes, null for NULL). */
  push(chunk: Buffer): Array<Array<Buffer | null>> {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Array<Array<Buffer | null>> = [];
    let at = 0;
    if (!this.headerDone) {
      if (this.buf.length < 19) return out;
      if (!this.buf.subarray(0, 11).equals(SIGNATURE)) throw invalidArgument('not a PostgreSQL binary COPY stream (bad signature)');
      const ext = this.buf.readInt32BE(15);
      if (this.buf.length < 19 + ext) return out;
      at = 19 + ext;
      this.headerDone = true;
    }
    while (!this.ended && this.buf.length - at >= 2) {
      const fields = this.buf.readInt16BE(at);
      if (fields === -1) {
        this.ended = true;
        at += 2;
        break;
      }
      let p = at + 2;
      const tuple: Array<Buffer | null> = [];
      let complete = true;
      for (let f = 0; f < fields; f++) {
        if (this.buf.length - p < 4) { complete = false; break; }
        const len = this.buf.readInt32BE(p);
        p += 4;
        if (len === -1) { tuple.push(null); continue; }
        if (this.buf.length - p < len) { complete = false; break; }
        tuple.push(this.buf.subarray(p, p + len));
        p += len;
      }
      if (!complete) break;
      out.push(tuple);
      at = p;
    }
    // Tuples hold views of the old buffer; the remainder is copied so those views stay valid.
    this.buf = Buffer.from(this.buf.subarray(at));
    return out;
  }

  /** True once the trailer was read. */
  get done(): boolean {
    return this.ended;
  }
}

/**
 * A one-dimensional `real[]` value as a Float32Array. `where` names the row for errors: a NULL element, a
 * multi-dimensional array or another element type is INVALID_ARGUMENT.
 */
export function decodeFloat4Array(b: Buffer, where: string): Float32Array {
  const ndim = b.readInt32BE(0);
  if (ndim === 0) return new Float32Array(0);
  if (ndim !== 1) throw invalidArgument(`${where}: features must be a one-dimensional array, got ${ndim} dimensions`);
  if (b.readInt32BE(8) !== FLOAT4_OID) throw invalidArgument(`${where}: features array is not real[] (element OID ${b.readInt32BE(8)})`);
  const n = b.readInt32BE(12);
  const out = new Float32Array(n);
  let p = 20;
  for (let i = 0; i < n; i++) {
    const len = b.readInt32BE(p);
    if (len === -1) throw invalidArgument(`${where}: feature ${i + 1} is NULL`);
    out[i] = b.readFloatBE(p + 4);
    p += 4 + len;
  }
  return out;
}

/** A bytea value of little-endian float32s (as `pixels_f32` columns hold them) as a Float32Array. */
export function decodeFloat32Bytea(b: Buffer, where: string): Float32Array {
  if (b.length % 4 !== 0) throw invalidArgument(`${where}: a features bytea must hold float32 values (a multiple of 4 bytes), got ${b.length} bytes`);
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
