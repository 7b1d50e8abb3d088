/**
 * File helpers of the registry: durable atomic writes (temporary, fsync, rename, fsync of the directory: a
 * crash leaves the old file or the new one), the two identities the Hub gives a file (sha256 of its bytes,
 * and git's blob sha1), and byte ranges cut out of a stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { Readable, Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ioError } from '../errors.js';

/** What the Hub calls a file: its sha256, its git blob sha1, its size. */
export interface FileIdentity { sha256: string; gitSha1: string; size: number }

/** Hashes bytes as they pass: sha256 and git's `sha1("blob <size>\0" + bytes)` (the size must be known up front). */
export class IdentityHasher {
  private readonly sha256 = createHash('sha256');
  private readonly sha1 = createHash('sha1');
  private seen = 0;
  constructor(private readonly size: number) {
    this.sha1.update(`blob ${size}\0`);
  }
  update(chunk: Uint8Array): void {
    this.sha256.update(chunk);
    this.sha1.update(chunk);
    this.seen += chunk.length;
  }
  digest(): FileIdentity {
    if (this.seen !== this.size) throw ioError(`hashed ${this.seen} bytes where ${this.size} were expected`);
    return { sha256: this.sha256.digest('hex'), gitSha1: this.sha1.digest('hex'), size: this.size };
  }
}

export function identityOfBytes(bytes: Uint8Array): FileIdentity {
  const h = new IdentityHasher(bytes.length);
  h.update(bytes);
  return h.digest();
}

export async function identityOfFile(path: string): Promise<FileIdentity> {
  const size = (await fsp.stat(path)).size;
  const h = new IdentityHasher(size);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest();
}

/** The git-lfs pointer file the Hub's tree describes an LFS file by (its sha1 is the tree `oid`). */
export function lfsPointer(sha256: string, size: number): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256}\nsize ${size}\n`;
}

export const tempName = (path: string): string => `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** Writes what `fill` pipes into the stream it is given to `path`, atomically and durably. */
export async function writeAtomic(path: string, fill: (out: Writable) => Promise<void>): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await fill(createWriteStream(tmp));
    const fh = await fsp.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, path);
    await syncDir(dirname(path));
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

export async function writeBytesAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeAtomic(path, async (out) => {
    await new Promise<void>((resolve, reject) => {
      out.on('error', reject);
      out.end(bytes, resolve);
    });
  });
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  return fsp.stat(path).then(() => true, () => false);
}

/** An inclusive byte range [start, end] of a file. */
export interface ByteRange { start: number; end: number }

/** Passes only bytes [start, end] of what flows through, then ends (the source is not read further). */
export function rangeSlice(range: ByteRange): Transform {
  let at = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (at > range.end) return done(); // past the range: the rest is drained, not passed on
      const from = Math.max(0, range.start - at);
      const to = Math.min(chunk.length, range.end + 1 - at);
      at += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (at > range.end) this.push(null);
      done();
    },
  });
}

/** Pipes `source` through `transforms` and returns the readable end (errors travel to it). */
export function piped(source: Readable, ...transforms: Transform[]): Readable {
  const last = transforms.length ? transforms[transforms.length - 1]! : source;
  if (transforms.length) void (pipeline as (...s: NodeJS.ReadWriteStream[]) => Promise<void>)(source as unknown as NodeJS.ReadWriteStream, ...transforms).catch((e: unknown) => last.destroy(e as Error));
  return last as Readable;
}

/** True when the first 8 KiB of the file hold a NUL byte (what the Hub calls a binary file). */
export async function looksBinary(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.alloc(8192);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).includes(0);
  } finally {
    await fh.close();
  }
}

/** A hard link of `from` at `to`, or a copy where links cannot be made (another file system). */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch {
    await fsp.copyFile(from, to);
  }
}

/** A stream of `bytes` (no copy). */
export function readableOf(bytes: Uint8Array): Readable {
  return Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)]);
}
