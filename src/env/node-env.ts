/**
 * The real Env: node:fs/promises. Maps ENOENT to NOT_FOUND and every other OS error to IO_ERROR, naming the path.
 *
 * Reads and appends are synchronous while the file answers quickly: from and to the page cache they are memcpys,
 * and a promise costs a thread-pool round trip each way (400 reads of a model's records: 15-33 ms through
 * promises, 3.5 ms synchronous; with large reads and appends synchronous too, a 1 GB get 1.26-1.49 -> 1.09-1.28 s
 * and a 1 GB lossless put 2.28-2.57 -> 2.14-2.41 s, 3 alternating runs each). Reads up to
 * SYNC_READ_BYTES are always one synchronous pread. Once a larger read or an append has held the thread for
 * SLOW_SYNC_MS (a cold disk, writeback throttling), that file's larger reads and appends go through the thread
 * pool, so a slow disk holds the event loop once, not on every call.
 */
import { promises as fs, constants, readSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { NeurStoreError, ioError } from '../errors.js';
import type { Env, EnvFile } from './env.js';

function wrap(e: unknown, what: string, path: string): NeurStoreError {
  if (e instanceof NeurStoreError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new NeurStoreError('NOT_FOUND', `${what}: no such file ${path}`, { cause: e });
  // Node refuses a path with a NUL byte before the OS sees it: bad input (a model file naming such a shard).
  if (code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE') {
    return new NeurStoreError('INVALID_ARGUMENT', `${what} ${JSON.stringify(path)}: not a usable path (${(e as Error).message.split('\n')[0]})`, { cause: e });
  }
  if (code === 'EISDIR') return new NeurStoreError('INVALID_ARGUMENT', `${what} ${path}: is a directory, a file was expected`, { cause: e });
  return ioError(`${what} ${path}`, e);
}

async function guard<T>(what: string, path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw wrap(e, what, path);
  }
}

/** Reads at most this long are always synchronous (see the file comment). */
const SYNC_READ_BYTES = 1 << 20;

/**
 * A synchronous read or append that took longer than this sends the file's larger reads and appends to the
 * thread pool. From the page cache a 1 MiB append took 0.2-1.3 ms here and an 8 MiB read 0.5-1.6 ms (median
 * of 120); but a read into memory not touched before took 25-33 ms (its pages faulting in), so in two 1 GB gets
 * 3 and 1 of the 3 segment files went to the pool after one of their first reads, and in two puts the model
 * file after its first.
 */
const SLOW_SYNC_MS = 25;

/**
 * Appends are written at most this much per write call. On this project's VM (Linux 6.18, ext4, free memory handed
 * back to the host) large writes are dear, likely because ext4 fills page-cache folios up to the write's size and
 * large folios are dear to allocate there: 3 GiB written from an 8 MiB buffer, the VM's free memory settled before
 * each run, took 12.9-13.6 s in 1 MiB writes, 5.8-6.5 s in 256 KiB, 3.1-8.9 s in 128 or 64 KiB and 1.4-4.9 s in 32
 * KiB (`dd`: 1 MiB 13.6-17.4 s, 128 KiB 1.9-2.5 s, 64 KiB 1.4-3.6 s). End to end, 64 KiB did best: a 4.27 GB get
 * took 4.0-12.1 s (median 6.3, 14 runs) against 4.9-11.9 (6.9, 12 runs) in 32 KiB writes and 7.0-16.5 (9.3, 10
 * runs) in 1 MiB ones, alternating; `zstd -d`, which writes 128 KiB at a time, 6.5-15.5 (9.2, 10 runs) in the same
 * rounds. The spread is the host's: the same get's CPU time varied 2x between runs.
 */
const APPEND_SLICE_BYTES = 64 * 1024;

class NodeFile implements EnvFile {
  /** False once a synchronous call was slow (see the file comment). */
  private quick = true;

  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly slowSyncMs: number,
  ) {}

  /** n bytes moved by `op` on this thread; marks the file slow when that took too long. */
  private timed(op: () => number): number {
    const start = performance.now();
    const n = op();
    if (performance.now() - start > this.slowSyncMs) this.quick = false;
    return n;
  }

  size(): Promise<number> {
    return guard('stat', this.path, async () => (await this.fh.stat()).size);
  }

  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    return guard('read', this.path, async () => {
      const buf = into && into.length >= length ? into.subarray(0, length) : Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const bytesRead = length <= SYNC_READ_BYTES
          ? readSync(this.fh.fd, buf, done, length - done, offset + done)
          : this.quick
            ? this.timed(() => readSync(this.fh.fd, buf, done, length - done, offset + done))
            : (await this.fh.read(buf, done, length - done, offset + done)).bytesRead;
        if (bytesRead === 0) throw ioError(`short read of ${this.path}: ${done} of ${length} bytes at offset ${offset}`);
        done += bytesRead;
      }
      return buf;
    });
  }

  append(data: Uint8Array): Promise<void> {
    return guard('append to', this.path, async () => {
      let done = 0;
      while (done < data.length) {
        const n = Math.min(data.length - done, APPEND_SLICE_BYTES);
        done += this.quick ? this.timed(() => writeSync(this.fh.fd, data, done, n)) : (await this.fh.write(data, done, n)).bytesWritten;
      }
    });
  }

  sync(): Promise<void> {
    return guard('fsync', this.path, () => this.fh.sync());
  }

  truncate(length: number): Promise<void> {
    return guard('truncate', this.path, () => this.fh.truncate(length));
  }

  close(): Promise<void> {
    return guard('close', this.path, () => this.fh.close());
  }
}

export interface NodeEnvOptions {
  /** See SLOW_SYNC_MS (the default); 0 sends every larger read and every append after the first to the thread pool. */
  readonly slowSyncMs?: number;
}

export class NodeEnv implements Env {
  private readonly slowSyncMs: number;

  constructor(options: NodeEnvOptions = {}) {
    this.slowSyncMs = options.slowSyncMs ?? SLOW_SYNC_MS;
  }

  async openRead(path: string): Promise<EnvFile> {
    return new NodeFile(path, await guard('open', path, () => fs.open(path, 'r')), this.slowSyncMs);
  }

  async openAppend(path: string): Promise<EnvFile> {
    return new NodeFile(path, await guard('open', path, () => fs.open(path, 'a+')), this.slowSyncMs);
  }

  readFile(path: string): Promise<Uint8Array> {
    return guard('read', path, () => fs.readFile(path));
  }

  writeFile(path: string, data: Uint8Array): Promise<void> {
    return guard('write', path, () => fs.writeFile(path, data));
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fs.access(path, constants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  fileSize(path: string): Promise<number> {
    return guard('stat', path, async () => (await fs.stat(path)).size);
  }

  async list(dir: string): Promise<string[]> {
    try {
      return (await fs.readdir(dir)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw wrap(e, 'list', dir);
    }
  }

  async isDirectory(path: string): Promise<boolean> {
    return guard('stat', path, async () => (await fs.stat(path)).isDirectory());
  }

  mkdir(path: string): Promise<void> {
    return guard('mkdir', path, async () => void (await fs.mkdir(path, { recursive: true })));
  }

  rename(from: string, to: string): Promise<void> {
    return guard('rename', `${from} -> ${to}`, () => fs.rename(from, to));
  }

  remove(path: string): Promise<void> {
    return guard('remove', path, () => fs.rm(path, { force: true, recursive: true }));
  }

  syncFile(path: string): Promise<void> {
    return guard('fsync', path, async () => {
      const fh = await fs.open(path, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  syncDir(path: string): Promise<void> {
    return this.syncFile(path);
  }

  now(): number {
    return Date.now();
  }
}
