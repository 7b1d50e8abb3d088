/**
 * Content-addressed blobs: the files of a repository that are not models (config.json, tokenizer files,
 * README.md, anything the formats do not read), each stored once by the sha256 of its bytes, compressed with
 * zstd, at `registry/blobs/<2 hex>/<sha256>.zst` in the store directory. Written atomically and durably before
 * any commit names them; read back as a stream (a byte range decodes from the start and skips).
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { NeurStoreError } from '../errors.js';
import type { RegistryBlobs } from './registry-store.js';
import { exists, piped, rangeSlice, writeAtomic, IdentityHasher, type ByteRange } from './durable-files.js';

export class BlobStore implements RegistryBlobs {
  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new NeurStoreError('INVALID_ARGUMENT', `'${sha256}' is not a sha256`);
    return join(this.dir, sha256.slice(0, 2), `${sha256}.zst`);
  }

  has(sha256: string): Promise<boolean> {
    return exists(this.pathOf(sha256));
  }

  /** Stores the bytes `source()` gives (a file or memory), unless a blob of that sha256 is already there. */
  async put(sha256: string, size: number, source: () => Readable): Promise<{ storedBytes: number }> {
    const path = this.pathOf(sha256);
    if (await exists(path)) return { storedBytes: 0 };
    const check = new IdentityHasher(size);
    await writeAtomic(path, async (out) => {
      const tap = new Transform({
        transform(chunk: Buffer, _e, done: TransformCallback) {
          check.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(source(), tap, new CompressStream({ compressionLevel: 6 }), out);
      const got = check.digest();
      if (got.sha256 !== sha256) throw new NeurStoreError('CONFLICT', `the file changed while it was stored (sha256 ${got.sha256}, expected ${sha256})`);
    });
    return { storedBytes: (await fsp.stat(path)).size };
  }

  /** The blob's bytes, or bytes [start, end] of them. NOT_FOUND when absent. */
  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(sha256);
    if (!(await exists(path))) throw new NeurStoreError('CORRUPTION', `blob ${sha256} that a commit names is missing from ${this.dir}`);
    const src = createReadStream(path);
    return range ? piped(src, new DecompressStream(), rangeSlice(range)) : piped(src, new DecompressStream());
  }

  async bytes(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.open(sha256)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}
