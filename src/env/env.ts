/**
 * The Env seam (after LevelDB's `include/leveldb/env.h`): the only way NeurStore touches files and the clock.
 * `NodeEnv` is the real one, `MemoryEnv` keeps files in memory for tests, and `FaultEnv` wraps a `MemoryEnv` to
 * drop unsynced writes, tear a write, fail with ENOSPC or flip a bit, so crash safety is tested, not assumed.
 *
 * Every method throws `NeurStoreError`: NOT_FOUND for a missing file, IO_ERROR for everything the OS refuses.
 */

/** An open file. Reads are positional; writes only append (the engine never rewrites bytes in place). */
export interface EnvFile {
  readonly path: string;
  /** Current size, including appended bytes not yet synced. */
  size(): Promise<number>;
  /**
   * Exactly `length` bytes at `offset`, in new memory the caller owns, or at the start of `into` (the caller's,
   * of at least `length` bytes: the result is then a view of it) when given and the implementation reads into
   * memory it is handed; IO_ERROR naming the file if fewer exist.
   */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  /** Appends `data`; once it resolves the bytes are written out (or copied) and the caller may reuse them. */
  append(data: Uint8Array): Promise<void>;
  /** Makes every appended byte durable (fsync). */
  sync(): Promise<void>;
  /** Cuts the file to `length` bytes (recovery of a torn tail). */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface Env {
  /** Opens an existing file for reading; NOT_FOUND if it does not exist. */
  openRead(path: string): Promise<EnvFile>;
  /** Opens a file for appending, creating it empty if missing. */
  openAppend(path: string): Promise<EnvFile>;
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a whole file (not durable until `syncFile`/`syncDir`; use `writeFileAtomic` for that). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Size in bytes of a file; NOT_FOUND if missing. */
  fileSize(path: string): Promise<number>;
  /** Names (not paths) of the entries of a directory, sorted; [] if it does not exist. */
  list(dir: string): Promise<string[]>;
  isDirectory(path: string): Promise<boolean>;
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** fsync of a file by path. */
  syncFile(path: string): Promise<void>;
  /** fsync of a directory, making renames and creations in it durable. */
  syncDir(path: string): Promise<void>;
  /** Milliseconds since the epoch. */
  now(): number;
}

/**
 * Replaces `path` with `data` atomically and durably: write a temp file, fsync it, rename over, fsync the
 * directory (LevelDB's SetCurrentFile). A crash at any point leaves either the old or the new content.
 */
export async function writeFileAtomic(env: Env, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  await env.writeFile(tmp, data);
  await env.syncFile(tmp);
  await env.rename(tmp, path);
  await env.syncDir(dirOf(path));
}

/** Directory part of a '/'-separated path ('.' when there is none). */
export function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '.' : i === 0 ? '/' : path.slice(0, i);
}

export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/').replace(/\/+/g, '/');
}
