/**
 * Model file bytes straight onto the HTTP response (the fastify reply hijacked), without the stream in between:
 * a chunk the store hands out is written as it is (a view, no copy) and its promise settles only once Node has
 * handed it to the socket (the write callback), so the store may reuse the memory after, and a slow client holds
 * the decoding back (backpressure: one chunk in flight). Small chunks (ONNX writers give hundreds of a few bytes)
 * are copied into one batch and written together, one syscall instead of hundreds. The status and headers go out
 * with the first bytes, so an error before any byte is still a proper error answer (http-errors.ts).
 */
import type { ServerResponse } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';

/** Chunks below this are batched (copied); others are written as they are. */
const SMALL = 64 * 1024;
/** A batch is written once it holds this much. */
const BATCH = 256 * 1024;

export class ResponseWriter {
  private batch: Buffer[] = [];
  private batched = 0;
  /** Bytes handed to the response so far. */
  written = 0;

  constructor(private readonly raw: ServerResponse, private readonly status: number, private readonly headers: OutgoingHttpHeaders,
    private readonly closed: Promise<never>) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length < SMALL) {
      this.batch.push(Buffer.from(chunk)); // a copy: the chunk is the store's once this returns
      this.batched += chunk.length;
      if (this.batched >= BATCH) await this.flush();
      return;
    }
    await this.flush();
    await this.send(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  /** Writes what is batched, and the headers if nothing was written yet. */
  async flush(): Promise<void> {
    if (!this.batched) return;
    const b = this.batch.length === 1 ? this.batch[0]! : Buffer.concat(this.batch, this.batched);
    this.batch = [];
    this.batched = 0;
    await this.send(b);
  }

  /** Flushes and ends the response. */
  async end(): Promise<void> {
    await this.flush();
    this.head();
    await Promise.race([new Promise<void>((resolve) => this.raw.end(resolve)), this.closed]);
  }

  private head(): void {
    if (!this.raw.headersSent) this.raw.writeHead(this.status, this.headers);
  }

  private send(b: Buffer): Promise<void> {
    this.head();
    this.written += b.length;
    // Settles when Node is done with `b` (written to the socket), or when the connection closes first.
    return Promise.race([
      new Promise<void>((resolve, reject) => this.raw.write(b, (e) => (e ? reject(e) : resolve()))),
      this.closed,
    ]);
  }
}
