/**
 * A forward-only little-endian reader over the head of a `ByteSource`, loading it in growing chunks.
 *
 * GGUF gives no header length up front. Parsing runs synchronously over what is loaded (an await per value made
 * a 150k-token vocabulary take seconds); when a step runs out of loaded bytes it throws `NeedMore`, and `run`
 * loads more (doubling, so re-parsing the step is amortized) and retries the step from its start. Every length
 * the file claims is checked against the file's real size before anything is allocated, so a lying header can
 * never make us allocate gigabytes or loop: it fails with INVALID_ARGUMENT naming the field and offset.
 */
import { isUtf8 } from 'node:buffer';
import { invalidArgument } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';

const FIRST_CHUNK_BYTES = 64 * 1024;

/** Thrown (and caught by `run`) when a step needs bytes that exist in the file but are not loaded yet. */
class NeedMore {
  constructor(readonly end: number) {}
}

export class GgufCursor {
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private node = Buffer.from(this.buf.buffer);
  private loaded = 0;
  /** Offset of the next byte to parse. */
  pos = 0;

  constructor(private readonly source: ByteSource) {}

  /** Total bytes in the file. */
  get size(): number {
    return this.source.size;
  }

  /** Bytes left in the file after `pos`. */
  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** Runs a synchronous parse step, loading more of the file and retrying it while it runs short. */
  async run<T>(step: () => T): Promise<T> {
    for (;;) {
      const start = this.pos;
      try {
        return step();
      } catch (e) {
        if (!(e instanceof NeedMore)) throw e;
        this.pos = start;
        await this.load(e.end);
      }
    }
  }

  /** Checks `n` bytes at `pos` are loaded; INVALID_ARGUMENT (truncated, naming `what`) if the file is shorter. */
  need(n: number, what: string): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      throw invalidArgument(
        `truncated GGUF header: ${what} needs ${n} bytes at offset ${this.pos}, file has ${this.source.size}: ` +
          'the file is cut short; download or copy it again',
      );
    }
    if (this.pos + n > this.loaded) throw new NeedMore(this.pos + n);
  }

  private async load(end: number): Promise<void> {
    const target = Math.min(this.source.size, Math.max(end, FIRST_CHUNK_BYTES, this.loaded * 2));
    const grown = new Uint8Array(target);
    grown.set(this.buf.subarray(0, this.loaded));
    grown.set(await readSource(this.source, this.loaded, target - this.loaded), this.loaded);
    this.buf = grown;
    this.view = new DataView(grown.buffer);
    this.node = Buffer.from(grown.buffer);
    this.loaded = target;
  }

  /** The first `end` bytes of the file (loaded by the caller's `need`), copied. */
  head(end: number): Uint8Array {
    return this.buf.slice(0, end);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * A u64 that must also be at most `max` (what the file can hold); else INVALID_ARGUMENT naming `prefix + what`
   * (joined only on failure, to keep the hot path free of string building).
   */
  count(what: string, max: number, prefix = ''): number {
    this.need(8, what);
    const at = this.pos;
    // Two u32 halves rather than a BigInt: this runs once per string, and vocabularies have 100k+ of them.
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    this.pos += 8;
    const v = hi * 2 ** 32 + lo;
    if (hi >= 2 ** 21 || v > max) {
      const exact = (BigInt(hi) << 32n) | BigInt(lo);
      throw invalidArgument(
        `GGUF ${prefix}${what} is ${exact} (at offset ${at}), more than the file can hold (at most ${max}): ` +
          'the file is cut short or corrupt; download or export it again',
      );
    }
    return v;
  }

  /** A UTF-8 string of `n` bytes at `pos`; INVALID_ARGUMENT naming `what` when the bytes are not UTF-8. */
  utf8(n: number, what: string): string {
    const bytes = this.bytes(n, what);
    if (!isUtf8(bytes)) throw invalidArgument(`${what} at offset ${this.pos - n} is not valid UTF-8`);
    return this.node.toString('utf8', this.pos - n, this.pos);
  }

  /** `n` bytes at `pos` as a view into the loaded header (valid until the next load). */
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The loaded header's DataView and the offset of `n` bytes at `pos`, advancing past them. */
  fixed(n: number, what: string): [DataView, number] {
    this.need(n, what);
    const at = this.pos;
    this.pos += n;
    return [this.view, at];
  }
}

/** Reads through a source, turning its failures (RangeError, short reads) into INVALID_ARGUMENT. */
export async function readSource(source: ByteSource, offset: number, length: number): Promise<Uint8Array> {
  let chunk: Uint8Array;
  try {
    chunk = await source.read(offset, length);
  } catch (e) {
    if (e instanceof RangeError) throw invalidArgument(`GGUF read of ${length} bytes at ${offset} failed: ${e.message}`, e);
    throw e;
  }
  if (chunk.length !== length) {
    throw invalidArgument(`GGUF read of ${length} bytes at ${offset} returned ${chunk.length}`);
  }
  return chunk;
}
