/**
 * A commit's tree and id, from the parent's tree and the commit's operations, as the registry's commit builds
 * them inside its write transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { invalidArgument } from '../errors.js';
import { entryNotFound } from './hub-names.js';
import type { CommitRow, FileRow } from './registry-db.js';

/** One change of a commit. `put` takes its bytes from a file (linked or copied), memory, or an upload. */
export type CommitOp =
  | { op: 'put'; path: string; file: string }
  | { op: 'put'; path: string; bytes: Uint8Array }
  | { op: 'put'; path: string; upload: string; size?: number }
  | { op: 'delete'; path: string }
  | { op: 'deleteFolder'; path: string };

/** The tree after `ops`: `base` minus deletions, plus the rows of the files put. */
export function applyOps(base: readonly FileRow[], ops: readonly CommitOp[], rows: ReadonlyMap<string, FileRow>, repo: string): FileRow[] {
  const tree = new Map(base.map((f) => [f.path, f]));
  for (const op of ops) {
    if (op.op === 'delete') {
      if (!tree.delete(op.path)) throw entryNotFound(repo, op.path, 'the branch head');
    } else if (op.op === 'deleteFolder') {
      const prefix = op.path.replace(/\/*$/, '/');
      for (const p of [...tree.keys()]) if (p.startsWith(prefix)) tree.delete(p);
    }
  }
  for (const [path, row] of rows) tree.set(path, row);
  const paths = [...tree.keys()].sort();
  for (const p of paths) {
    for (let d = posix.dirname(p); d !== '.'; d = posix.dirname(d)) {
      if (tree.has(d)) throw invalidArgument(`'${d}' would be both a file and the directory of '${p}'`);
    }
  }
  return paths.map((p) => tree.get(p)!);
}

export function makeCommit(repo: string, parent: string | null, files: readonly FileRow[], message: string, author: string, createdMs: number, baseModels: string[]): CommitRow {
  const h = createHash('sha1');
  h.update(JSON.stringify([repo, parent, message, author, createdMs, files.map((f) => [f.path, f.sha256, f.size])]));
  h.update(randomBytes(8)); // two identical commits in the same millisecond still get two ids
  return { id: h.digest('hex'), repo, parent, message: message.slice(0, 10_000), author, createdMs, baseModels };
}
