/**
 * An in-memory Env for tests that also models durability the way a POSIX file system gives it: file bytes are
 * durable only after `sync`/`syncFile`, directory entries (creations, renames, removals) only after `syncDir`
 * of their directory. `crashImage()` returns what a machine would find after power loss at this instant.
 * Directories themselves are durable as soon as they are made (a simplification tests do not rely on).
 */
import { NeurStoreError, ioError } from '../errors.js';
import { dirOf, type Env, type EnvFile } from './env.js';

class Inode {
  data = new Uint8Array(0);
  durable = new Uint8Array(0);
  append(bytes: Uint8Array): void {
    const next = new Uint8Array(this.data.length + bytes.length);
    next.set(this.data);
    next.set(bytes, this.data.length);
    this.data = next;
  }
  sync(): void {
    this.durable = this.data.slice();
  }
}

/** Options of `crashImage`. */
export interface CrashOptions {
  /**
   * When given, each file keeps a prefix of its unsynced appended bytes whose length this picks
   * (0..unsynced), modelling a torn write; by default every unsynced byte is lost.
   */
  tornBytes?: (path: string, unsynced: number) => number;
}

export class MemoryEnv implements Env {
  private readonly files = new Map<string, Inode>();
  private readonly durableFiles = new Map<string, Inode>();
  private readonly dirs = new Set<string>(['.', '/']);

  private inode(path: string): Inode {
    const node = this.files.get(path);
    if (!node) throw new NeurStoreError('NOT_FOUND', `no such file ${path}`);
    return node;
  }

  private handle(path: string, node: Inode): EnvFile {
    return {
      path,
      size: async () => node.data.length,
      read: async (offset, length) => {
        if (offset < 0 || offset + length > node.data.length) {
          throw ioError(`short read of ${path}: ${length} bytes at offset ${offset}, file has ${node.data.length}`);
        }
        return node.data.slice(offset, offset + length);
      },
      append: async (bytes) => node.append(bytes),
      sync: async () => node.sync(),
      truncate: async (length) => {
        node.data = node.data.slice(0, length);
      },
      close: async () => {},
    };
  }

  async openRead(path: string): Promise<EnvFile> {
    return this.handle(path, this.inode(path));
  }

  async openAppend(path: string): Promise<EnvFile> {
    let node = this.files.get(path);
    if (!node) {
      this.requireDir(dirOf(path));
      node = new Inode();
      this.files.set(path, node);
    }
    return this.handle(path, node);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return this.inode(path).data.slice();
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    this.requireDir(dirOf(path));
    const node = this.files.get(path) ?? new Inode();
    node.data = data.slice();
    this.files.set(path, node);
  }

  async exists(path: string): Promise<boolean> {
    return this.files.has(path) || this.dirs.has(path);
  }

  async fileSize(path: string): Promise<number> {
    return this.inode(path).data.length;
  }

  async list(dir: string): Promise<string[]> {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const names = new Set<string>();
    for (const p of [...this.files.keys(), ...this.dirs]) {
      if (p.startsWith(prefix) && p.length > prefix.length) names.add(p.slice(prefix.length).split('/')[0]!);
    }
    return [...names].sort();
  }

  async isDirectory(path: string): Promise<boolean> {
    if (this.dirs.has(path)) return true;
    this.inode(path);
    return false;
  }

  async mkdir(path: string): Promise<void> {
    const parts = path.split('/');
    for (let i = 1; i <= parts.length; i++) this.dirs.add(parts.slice(0, i).join('/') || '/');
  }

  async rename(from: string, to: string): Promise<void> {
    const node = this.inode(from);
    this.requireDir(dirOf(to));
    this.files.delete(from);
    this.files.set(to, node);
  }

  async remove(path: string): Promise<void> {
    this.files.delete(path);
    for (const p of [...this.files.keys()]) if (p.startsWith(`${path}/`)) this.files.delete(p);
  }

  async syncFile(path: string): Promise<void> {
    this.inode(path).sync();
  }

  async syncDir(path: string): Promise<void> {
    for (const p of [...this.durableFiles.keys()]) if (dirOf(p) === path) this.durableFiles.delete(p);
    for (const [p, node] of this.files) if (dirOf(p) === path) this.durableFiles.set(p, node);
  }

  now(): number {
    return 1_700_000_000_000;
  }

  /** Test hook: flips one bit of a file in place (what a bad disk or cosmic ray does). */
  flipBit(path: string, byteOffset: number, bit = 0): void {
    const node = this.inode(path);
    node.data[byteOffset]! ^= 1 << bit;
    if (byteOffset < node.durable.length) node.durable[byteOffset]! ^= 1 << bit;
  }

  /** What survives a power loss now: durable entries with their durable bytes (plus torn tails if asked). */
  crashImage(options: CrashOptions = {}): MemoryEnv {
    const image = new MemoryEnv();
    for (const d of this.dirs) image.dirs.add(d);
    for (const [path, node] of this.durableFiles) {
      const copy = new Inode();
      copy.data = node.durable.slice();
      const unsynced = node.data.length - node.durable.length;
      const prefixOk = unsynced > 0 && node.data.subarray(0, node.durable.length).every((b, i) => b === node.durable[i]);
      if (options.tornBytes && prefixOk) copy.append(node.data.subarray(node.durable.length, node.durable.length + options.tornBytes(path, unsynced)));
      copy.sync();
      image.files.set(path, copy);
      image.durableFiles.set(path, copy);
    }
    return image;
  }

  private requireDir(dir: string): void {
    if (!this.dirs.has(dir)) throw new NeurStoreError('NOT_FOUND', `no such directory ${dir}`);
  }
}
