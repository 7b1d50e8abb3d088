/**
 * Assembles one record from the binary COPY output of
 *   COPY (SELECT r.length, r.crc, r.pages, p.page, p.data FROM records r LEFT JOIN record_pages p ...) TO STDOUT (FORMAT binary)
 * as the chunks arrive: page bytes are copied once, straight into a buffer of the record's length, and the
 * CRC-32 runs on each piece as it lands (no joining of chunks, then of pages: that cost a third of get time).
 *
 *   stream := signature (11 bytes), flags int32, extension length int32 + bytes, tuple*, trailer int16 = -1
 *   tuple  := field count int16 (5), per field: length int32 (-1 = NULL), bytes; integers big-endian
 *
 * `finish()` checks pages, length and checksum and returns the payload, or a problem in words (the caller
 * names the place); null when the record does not exist (no rows).
 */
import { crc32 } from 'node:zlib';

const EMPTY = Buffer.alloc(0);
/** A length larger than any record can be (u32 lengths: record-format.ts) is damage, not an allocation. */
const MAX_LENGTH = 0xffff_ffff;

export class PageReader {
  private pending: Buffer = EMPTY;
  private headerDone = false;
  private ended = false;
  /** Bytes of the current page still to come (in data mode). */
  private dataLeft = 0;
  private out: Buffer | undefined;
  private at = 0;
  private length = -1;
  private crc = 0;
  private pages = 0;
  private seen = 0;
  private actualCrc = 0;
  private problem: string | undefined;

  push(chunk: Buffer): void {
    let c = chunk;
    while (c.length && !this.problem) {
      if (this.dataLeft) {
        const n = Math.min(this.dataLeft, c.length);
        this.copy(c.subarray(0, n));
        this.dataLeft -= n;
        c = c.subarray(n);
        continue;
      }
      if (this.ended) return;
      const buf = this.pending.length ? Buffer.concat([this.pending, c]) : c;
      const used = this.parse(buf);
      if (used < 0) {
        this.pending = Buffer.from(buf); // too short for the next structure: wait for more (small: headers only)
        return;
      }
      this.pending = EMPTY;
      c = buf.subarray(used);
    }
  }

  private copy(piece: Buffer): void {
    if (!this.out || this.at + piece.length > this.out.length) {
      this.problem = `more page bytes than the record's length ${this.length}`;
      return;
    }
    piece.copy(this.out, this.at);
    this.at += piece.length;
    this.actualCrc = crc32(piece, this.actualCrc);
  }

  /** Parses the header or one tuple's fields up to its page bytes; the bytes used, or -1 when `b` is too short. */
  private parse(b: Buffer): number {
    if (!this.headerDone) {
      if (b.length < 19 || b.length < 19 + b.readInt32BE(15)) return -1;
      this.headerDone = true;
      return 19 + b.readInt32BE(15);
    }
    if (b.length < 2) return -1;
    if (b.readInt16BE(0) === -1) {
      this.ended = true;
      return 2;
    }
    let p = 2;
    const fields: Array<Buffer | null> = [];
    for (let f = 0; f < 4; f++) {
      if (b.length < p + 4) return -1;
      const len = b.readInt32BE(p);
      p += 4;
      if (len < 0) { fields.push(null); continue; }
      if (b.length < p + len) return -1;
      fields.push(b.subarray(p, p + len));
      p += len;
    }
    if (b.length < p + 4) return -1;
    const dataLength = b.readInt32BE(p);
    p += 4;
    this.onTuple(fields, dataLength);
    if (dataLength > 0) this.dataLeft = dataLength;
    return p;
  }

  private onTuple([length, crc, pages, page]: Array<Buffer | null>, dataLength: number): void {
    if (this.length < 0) {
      this.length = Number(length!.readBigInt64BE());
      this.crc = Number(crc!.readBigInt64BE());
      this.pages = pages!.readInt32BE();
      if (this.length > MAX_LENGTH) this.problem = `the record's length ${this.length} is impossible`;
      else this.out = Buffer.allocUnsafe(this.length);
    }
    if (page === null || dataLength < 0) this.problem ??= 'the record has no pages';
    else if (page.readInt32BE() !== this.seen) this.problem ??= `page ${this.seen} is missing`;
    this.seen++;
  }

  finish(): { payload: Buffer } | { problem: string } | null {
    if (this.problem) return { problem: this.problem };
    if (!this.ended) return { problem: 'the page stream ended early' };
    if (this.length < 0) return null;
    if (this.seen !== this.pages) return { problem: `${this.seen} pages where the record has ${this.pages}` };
    if (this.at !== this.length) return { problem: `${this.at} bytes where the record has ${this.length}` };
    if (this.actualCrc !== this.crc) {
      return { problem: `payload checksum mismatch (stored ${this.crc.toString(16)}, computed ${this.actualCrc.toString(16)})` };
    }
    return { payload: this.out! };
  }
}
