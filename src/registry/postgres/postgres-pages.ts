/**
 * Bytes of the hub in PostgreSQL pages (hub blobs and uploads in flight), streamed both ways with bounded memory,
 * in the manner of the tensor store's records (src/backend/postgres/postgres-records.ts): pages of `PAGE_BYTES`
 * in a bytea column stored EXTERNAL, each with the CRC-32 of its bytes; written one INSERT per page (node-postgres
 * sends a Buffer parameter in binary), read by one `COPY (SELECT page, crc, data ...) TO STDOUT (FORMAT binary)`
 * (the binary path; the text/hex bytea path reads at about half the speed), parsed as it arrives: one page is
 * held at a time, and handed on only once its number and CRC are checked.
 *
 *   stream := signature (11 bytes), flags int32, extension length int32 + bytes, tuple*, trailer int16 = -1
 *   tuple  := field count int16 (3), per field: length int32, bytes (page int4, crc int8, data bytea)
 */
import { crc32 } from 'node:zlib';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { NeurStoreError } from '../../errors.js';

export const PAGE_BYTES = 4 * 1024 * 1024;

/** Cuts a stream of chunks into pages of `pageBytes` (the last one shorter); `flush` is awaited per page. */
export class Paginator {
  private parts: Buffer[] = [];
  private bytes = 0;
  pages = 0;

  constructor(private readonly flush: (page: number, data: Buffer) => Promise<void>, private readonly pageBytes = PAGE_BYTES) {}

  async push(chunk: Uint8Array): Promise<void> {
    let b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (b.length) {
      const take = Math.min(this.pageBytes - this.bytes, b.length);
      // Copied: the caller may reuse its chunk once push returns (zstd and socket buffers are not ours).
      this.parts.push(Buffer.from(b.subarray(0, take)));
      this.bytes += take;
      b = b.subarray(take);
      if (this.bytes === this.pageBytes) await this.emit();
    }
  }

  /** Flushes the last, partial page (none when nothing is pending; an empty stream has no pages). */
  async end(): Promise<void> {
    if (this.bytes) await this.emit();
  }

  private async emit(): Promise<void> {
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    await this.flush(this.pages++, data);
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * The pages `select` (columns page int4, crc int8, data bytea, ordered by page) returns, each checked: numbered
 * 0, 1, 2, ... and matching its CRC; `expectPages` of them. CORRUPTION naming `what` otherwise. Holds one page.
 */
export async function* readPages(client: pg.ClientBase, select: string, what: string, expectPages: number): AsyncGenerator<Buffer> {
  const damaged = (problem: string): NeurStoreError => new NeurStoreError('CORRUPTION', `${what}: ${problem} (the database was damaged)`);
  const stream = client.query(copyTo(`COPY (${select}) TO STDOUT (FORMAT binary)`));
  let pending = Buffer.alloc(0);
  let headerDone = false;
  let ended = false;
  let page: Buffer | undefined;
  let pageAt = 0;
  let pageCrc = 0;
  let next = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let c = chunk;
      while (c.length) {
        if (page) {
          const n = Math.min(page.length - pageAt, c.length);
          c.copy(page, pageAt, 0, n);
          pageAt += n;
          c = c.subarray(n);
          if (pageAt === page.length) {
            if ((page.length ? crc32(page) : 0) !== pageCrc) throw damaged(`page ${next} fails its checksum`);
            next++;
            const done = page;
            page = undefined;
            yield done;
          }
          continue;
        }
        if (ended) throw damaged('bytes after the end of the COPY stream');
        const b = pending.length ? Buffer.concat([pending, c]) : c;
        let used = -1;
        if (!headerDone) {
          if (b.length >= 19 && b.length >= 19 + b.readInt32BE(15)) {
            if (!b.subarray(0, 11).equals(SIGNATURE)) throw damaged('not a binary COPY stream');
            headerDone = true;
            used = 19 + b.readInt32BE(15);
          }
        } else if (b.length >= 2 && b.readInt16BE(0) === -1) {
          ended = true;
          used = 2;
        } else if (b.length >= 2 + 4 + 4 + 4 + 8 + 4) {
          if (b.readInt16BE(0) !== 3 || b.readInt32BE(2) !== 4 || b.readInt32BE(10) !== 8) throw damaged('unexpected COPY row shape');
          const no = b.readInt32BE(6);
          if (no !== next) throw damaged(`page ${next} is missing (found page ${no})`);
          pageCrc = Number(b.readBigInt64BE(14));
          const len = b.readInt32BE(22);
          if (len < 0 || len > 64 * 1024 * 1024) throw damaged(`page ${no} has length ${len}`);
          page = Buffer.allocUnsafe(len);
          pageAt = 0;
          used = 26;
          if (len === 0) {
            if (pageCrc !== 0) throw damaged(`page ${no} fails its checksum`);
            next++;
            page = undefined;
            yield Buffer.alloc(0);
          }
        }
        if (used < 0) {
          pending = Buffer.from(b); // too short for the next header: wait for more (a few bytes)
          break;
        }
        pending = Buffer.alloc(0);
        c = b.subarray(used);
      }
    }
  } finally {
    // A reader that stops early (an error, or it went away) must not leave the COPY running on the connection.
    if (!ended) (stream as unknown as { destroy(): void }).destroy();
  }
  if (page || !ended) throw damaged('the page stream ended early');
  if (next !== expectPages) throw damaged(`${next} pages where ${expectPages} were expected`);
}
