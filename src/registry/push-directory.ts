/**
 * `pushDirectory(storeDir, dir, repo, options)`: makes a branch of a repository hold exactly the files of a
 * directory, as one new commit (`neurstore push DIR ns/name`). The repository is created when missing (private
 * and mode as asked); model files go through the tensor store, other files become blobs. `.git` and `.cache`
 * directories are skipped. Nothing is opened or created before the directory has been read.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { invalidArgument, notFound } from '../errors.js';
import type { Mode } from '../store/store-types.js';
import { checkRepoId } from './hub-names.js';
import { Registry, type CommitOp, type CommitResult } from './registry.js';

export interface PushOptions {
  /** Branch to commit to (default main). */
  readonly branch?: string;
  /** Commit message (default 'push'). */
  readonly message?: string;
  /** How model files are stored (default: the repository's; lossless for a new one). */
  readonly mode?: Mode;
  readonly tolerance?: number;
  /** A new repository is private. */
  readonly private?: boolean;
  readonly author?: string;
  readonly onProgress?: (message: string) => void;
}

/** Every file under `dir` as a repository path (sorted), skipping .git and .cache directories. */
export async function directoryFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name !== '.git' && e.name !== '.cache') out.push(...(await directoryFiles(dir, rel)));
    } else if (e.isFile()) out.push(rel);
  }
  return out.sort();
}

/** Pushes `dir` (as the caller typed it: errors name it so) to `repo` in the store at `storeDir` (created if missing). */
export async function pushDirectory(storeDir: string, dir: string, repo: string, options: PushOptions = {}): Promise<CommitResult> {
  checkRepoId(repo);
  const root = resolve(dir);
  const paths = await directoryFiles(root).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ENOENT' || e.code === 'ENOTDIR' ? notFound(`no directory ${dir}`) : e;
  });
  if (paths.length === 0) throw invalidArgument(`directory ${dir} holds no files to push`);
  const reg = await Registry.open(storeDir, { create: true });
  try {
    if (!(await reg.db.repo(repo))) await reg.createRepo(repo, { private: options.private, mode: options.mode, tolerance: options.tolerance, author: options.author });
    const ops: CommitOp[] = paths.map((p) => ({ op: 'put', path: p, file: join(root, ...p.split('/')) }));
    return await reg.commit(repo, ops, {
      branch: options.branch ?? 'main', message: options.message ?? 'push', replaceTree: true, mode: options.mode, tolerance: options.tolerance,
      author: options.author, onProgress: options.onProgress,
    });
  } finally {
    await reg.close();
  }
}
