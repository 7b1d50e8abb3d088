/**
 * Adapters between the Env and the formats' byte interfaces: a `ModelSource` over a file or directory the user
 * named, and a `ModelSink` that writes a model's files into temporaries and moves them into place only when
 * the whole model was written, so a failed `get` leaves no half file behind. A temporary is named after the
 * process writing it (`FILE.PID.neurstore-tmp`); one left by a process that died (kill -9 during a `get`) is
 * deleted by the next `get` into the same directory.
 */
import { NeurStoreError, invalidArgument } from '../errors.js';
import { dirOf, joinPath, type Env, type EnvFile } from '../env/env.js';
import type { ByteSink, ByteSource } from '../formats/byte-source.js';
import type { ModelSink, ModelSource } from '../formats/model-format.js';
import { processAlive } from '../env/process-alive.js';

const baseName = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** A ByteSource reading an open Env file; owns nothing (the caller closes the file). */
export async function envByteSource(file: EnvFile): Promise<ByteSource> {
  const size = await file.size();
  return {
    size,
    read: (offset, length, into) => {
      if (offset < 0 || length < 0 || offset + length > size) {
        throw invalidArgument(`${file.path}: read of ${length} bytes at offset ${offset} is past the end (${size} bytes)`);
      }
      return file.read(offset, length, into);
    },
  };
}

/** A model source that knows the path the user named, for error messages. */
export interface NamedSource extends ModelSource {
  /** The file or directory as the user named it. */
  readonly path: string;
}

/** An open model source; `close` releases its files. */
export interface OpenedSource extends NamedSource {
  /** Total bytes of the files opened so far (the model's size once a format has read it). */
  bytesOpened(): number;
  close(): Promise<void>;
}

/** Opens the model at `path`: a single file, or every file of a directory. NOT_FOUND if it does not exist. */
export async function openModelSource(env: Env, path: string): Promise<OpenedSource> {
  const clean = path.replace(/\/+$/, '') || '/';
  if (!(await env.exists(clean))) throw new NeurStoreError('NOT_FOUND', `no such file or directory: ${path}`);
  const isDir = await env.isDirectory(clean);
  const dir = isDir ? clean : dirOf(clean);
  const files = isDir ? await listFiles(env, clean) : [baseName(clean)];
  if (files.length === 0) throw invalidArgument(`directory ${path} holds no files: name a model file, or a directory holding one model's files`);
  const open = new Map<string, { file: EnvFile; source: ByteSource }>();
  return {
    path,
    files,
    async open(name: string): Promise<ByteSource> {
      if (name.split('/').includes('..') || name.startsWith('/')) throw invalidArgument(`file name '${name}' leaves the model's directory`);
      if (name.includes('\0')) throw invalidArgument(`${path} names a file ${JSON.stringify(name)} that holds a NUL byte: fix the model's file list`);
      const hit = open.get(name);
      if (hit) return hit.source;
      const file = await env.openRead(joinPath(dir, name));
      const source = await envByteSource(file);
      open.set(name, { file, source });
      return source;
    },
    bytesOpened: () => [...open.values()].reduce((n, f) => n + f.source.size, 0),
    async close(): Promise<void> {
      for (const f of open.values()) await f.file.close();
      open.clear();
    },
  };
}

/**
 * `source` counting the bytes of the files opened through it (each once): the model's size once a format has
 * read it, for any source (in memory, staged by an upload), as `OpenedSource.bytesOpened` does for files.
 */
export function countingSource(source: ModelSource & { readonly path?: string }): ModelSource & { readonly path?: string; bytesOpened(): number; filesOpened(): string[] } {
  const sizes = new Map<string, number>();
  return {
    // The path a source was opened from names it in error messages (format-registry.ts): keep it.
    ...(source.path === undefined ? {} : { path: source.path }),
    files: source.files,
    async open(name: string): Promise<ByteSource> {
      const bytes = await source.open(name);
      sizes.set(name, bytes.size);
      return bytes;
    },
    bytesOpened: () => [...sizes.values()].reduce((n, s) => n + s, 0),
    /** The files opened through it, in the order first opened. */
    filesOpened: () => [...sizes.keys()],
  };
}

async function listFiles(env: Env, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await env.list(dir)) {
    if (name.startsWith('.')) continue;
    if (!(await env.isDirectory(joinPath(dir, name)))) out.push(name);
  }
  return out;
}

/** Deletes temporaries in `dir` whose writer is gone (or that predate per-process names). */
async function removeStaleTemporaries(env: Env, dir: string): Promise<void> {
  for (const name of await env.list(dir)) {
    const m = /(?:\.(\d+))?\.neurstore-tmp$/.exec(name);
    if (m && (m[1] === undefined || !processAlive(Number(m[1])))) await env.remove(joinPath(dir, name));
  }
}

/**
 * A sink whose first file goes to `target` and later ones beside it (with `intoDirectory`, every file into the
 * directory `target` under the name the format gives it); `commit` moves them into place.
 */
export interface StagedSink extends ModelSink {
  readonly written: string[];
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** With `sync`, a large staged file is fsynced in the background every this many bytes. */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

export interface StagedSinkOptions {
  /**
   * Make the files durable (fsync, then the directory) before `commit` returns. Without it they are moved into
   * place whole (a killed process leaves nothing half-written at the target) but, as cp and zstd leave theirs,
   * in the page cache: a power cut soon after may lose them. The store's own data is durable either way.
   */
  readonly sync?: boolean;
  /** `target` is a directory: every file goes into it under its own name (the name it was put with). */
  readonly intoDirectory?: boolean;
}

export function stagedSink(env: Env, target: string, options: StagedSinkOptions = {}): StagedSink {
  const staged: Array<{ tmp: string; final: string; file: EnvFile; syncing: () => Promise<void> }> = [];
  const written: string[] = [];
  return {
    written,
    async create(name: string): Promise<ByteSink & { close(): Promise<void> }> {
      if (name.split('/').includes('..') || name.startsWith('/')) throw invalidArgument(`file name '${name}' leaves the output directory`);
      const final = options.intoDirectory ? joinPath(target, name) : staged.length === 0 ? target : joinPath(dirOf(target), name);
      if (staged.some((s) => s.final === final)) throw invalidArgument(`the model writes ${final} twice`);
      const tmp = `${final}.${process.pid}.neurstore-tmp`;
      if ((await env.exists(dirOf(final))) && !(await env.isDirectory(dirOf(final)))) throw invalidArgument(`cannot write ${final}: ${dirOf(final)} is a file, not a directory`);
      await env.mkdir(dirOf(final));
      if (staged.length === 0) await removeStaleTemporaries(env, dirOf(final));
      await env.remove(tmp);
      const file = await env.openAppend(tmp);
      // Durable outputs are fsynced in the background every SYNC_EVERY_BYTES, so writeback overlaps decoding and
      // the fsync before the rename finds little left to write (a whole-GB fsync at the end took ~2.5 s).
      let unsynced = 0;
      let syncing: Promise<void> = Promise.resolve();
      staged.push({ tmp, final, file, syncing: () => syncing });
      return {
        releasesBytes: true, // an append has written the bytes out once it resolves
        write: async (chunk) => {
          await file.append(chunk);
          unsynced += chunk.length;
          if (options.sync && unsynced >= SYNC_EVERY_BYTES) {
            unsynced = 0;
            await syncing; // at most one background fsync at a time
            syncing = file.sync();
            syncing.catch(() => {}); // a failure surfaces at the next write or at commit
          }
        },
        close: async () => {
          await syncing;
        },
      };
    },
    async commit(): Promise<void> {
      for (const s of staged) {
        await s.syncing();
        if (options.sync) await s.file.sync();
        await s.file.close();
        await env.rename(s.tmp, s.final);
        written.push(s.final);
      }
      if (staged.length && options.sync) await env.syncDir(options.intoDirectory ? target : dirOf(target));
    },
    async discard(): Promise<void> {
      for (const s of staged) {
        await s.syncing().catch(() => undefined);
        await s.file.close().catch(() => undefined);
        await env.remove(s.tmp);
      }
    },
  };
}
