/**
 * The two byte interfaces the pure format readers and writers speak. They never touch the file system:
 * the store hands them an Env file handle (which satisfies `ByteSource`) or an in-memory buffer.
 */

/** Random-access bytes of known size. `read` returns exactly `length` bytes or throws. */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes at `offset`; into `into` (exactly `length` bytes, the caller's) when the source can. */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
}

/** Where a writer sends its output, in order. */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * True when `write` is done with the bytes it was given once its promise resolves (it wrote them out or
   * copied them): the writer may then reuse their memory (the store recycles its chunk buffers).
   */
  readonly releasesBytes?: boolean;
}

/** A `ByteSource` over bytes already in memory (tests, small files). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        throw new RangeError(`read of ${length} bytes at ${offset} is past the end (${bytes.length} bytes)`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A `ByteSink` that collects everything written; `bytes()` joins it. */
export function memorySink(): ByteSink & { bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  return {
    async write(chunk: Uint8Array): Promise<void> {
      chunks.push(Uint8Array.prototype.slice.call(chunk)); // a real copy even for a Node Buffer (its slice is a view)
    },
    bytes(): Uint8Array {
      return Buffer.concat(chunks);
    },
  };
}
