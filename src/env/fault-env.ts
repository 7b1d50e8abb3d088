/**
 * A fault-injecting Env for crash tests (after LevelDB's FaultInjectionTestEnv). It wraps another Env and
 * counts mutating operations (append, sync, truncate, writeFile, rename, remove, syncFile, syncDir):
 *   - `crashAtOp: n` makes operation n fail as if the machine died there (an append may first land partially,
 *     a torn write); every later operation fails too. Take `MemoryEnv.crashImage()` of the inner env to "reboot".
 *   - `diskBytes: n` makes appends and writes fail with ENOSPC once n bytes in total have been written.
 * Reads are never faulted here: bit flips are injected with `MemoryEnv.flipBit`.
 */
import { NeurStoreError } from '../errors.js';
import type { Env, EnvFile } from './env.js';

export interface FaultOptions {
  /** 1-based index of the mutating operation that crashes. */
  crashAtOp?: number;
  /** When the crashing op is an append, how many of its bytes land before the crash (default 0). */
  tornBytes?: (length: number) => number;
  /** Total bytes appends and writes may add before failing with ENOSPC. */
  diskBytes?: number;
}

export class SimulatedCrash extends NeurStoreError {
  constructor(op: string) {
    super('IO_ERROR', `simulated crash at ${op}`);
  }
}

export class FaultEnv implements Env {
  /** Number of mutating operations started so far (lets a test count the crash points of a workload). */
  ops = 0;
  crashed = false;
  private written = 0;

  constructor(
    readonly inner: Env,
    private readonly options: FaultOptions = {},
  ) {}

  private step(op: string): void {
    if (this.crashed) throw new SimulatedCrash(`${op} after the crash`);
    this.ops++;
    if (this.ops === this.options.crashAtOp) {
      this.crashed = true;
      throw new SimulatedCrash(op);
    }
  }

  private reserve(op: string, bytes: number): number {
    const limit = this.options.diskBytes;
    if (limit === undefined || this.written + bytes <= limit) {
      this.written += bytes;
      return bytes;
    }
    const room = Math.max(0, limit - this.written);
    this.written += room;
    return room;
  }

  private wrapFile(f: EnvFile): EnvFile {
    return {
      path: f.path,
      size: () => f.size(),
      read: (o, l) => f.read(o, l),
      append: async (data) => {
        const willCrash = !this.crashed && this.ops + 1 === this.options.crashAtOp;
        if (willCrash && this.options.tornBytes) await f.append(data.subarray(0, this.options.tornBytes(data.length)));
        this.step(`append to ${f.path}`);
        const room = this.reserve('append', data.length);
        if (room < data.length) {
          await f.append(data.subarray(0, room));
          throw new NeurStoreError('IO_ERROR', `append to ${f.path}: ENOSPC: no space left on device`);
        }
        await f.append(data);
      },
      sync: async () => {
        this.step(`sync of ${f.path}`);
        await f.sync();
      },
      truncate: async (n) => {
        this.step(`truncate of ${f.path}`);
        await f.truncate(n);
      },
      close: () => f.close(),
    };
  }

  async openRead(path: string): Promise<EnvFile> {
    return this.wrapFile(await this.inner.openRead(path));
  }
  async openAppend(path: string): Promise<EnvFile> {
    if (this.crashed) throw new SimulatedCrash(`open of ${path} after the crash`);
    return this.wrapFile(await this.inner.openAppend(path));
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }
  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.step(`write of ${path}`);
    if (this.reserve('write', data.length) < data.length) {
      throw new NeurStoreError('IO_ERROR', `write of ${path}: ENOSPC: no space left on device`);
    }
    await this.inner.writeFile(path, data);
  }
  exists(path: string): Promise<boolean> {
    return this.inner.exists(path);
  }
  fileSize(path: string): Promise<number> {
    return this.inner.fileSize(path);
  }
  list(dir: string): Promise<string[]> {
    return this.inner.list(dir);
  }
  isDirectory(path: string): Promise<boolean> {
    return this.inner.isDirectory(path);
  }
  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }
  async rename(from: string, to: string): Promise<void> {
    this.step(`rename of ${from}`);
    await this.inner.rename(from, to);
  }
  async remove(path: string): Promise<void> {
    this.step(`remove of ${path}`);
    await this.inner.remove(path);
  }
  async syncFile(path: string): Promise<void> {
    this.step(`fsync of ${path}`);
    await this.inner.syncFile(path);
  }
  async syncDir(path: string): Promise<void> {
    this.step(`fsync of directory ${path}`);
    await this.inner.syncDir(path);
  }
  now(): number {
    return this.inner.now();
  }
}
