/**
 * Names the registry accepts, checked before anything touches the disk or the database: repository ids
 * (`namespace/name`, the Hub's own rule), file paths inside a repository (relative, no `..`, no NUL, no
 * backslash, no empty segment: a path can never leave the repository's tree, on push, pull or over HTTP),
 * branch and tag names, and revisions. Failures are INVALID_ARGUMENT naming the value and the rule.
 */
import { NeurStoreError, type ErrorCode } from '../errors.js';

/**
 * The Hub's error vocabulary (sent as `X-Error-Code`): a NeurStoreError that also says which of the Hub's
 * cases it is, so HTTP clients see `RepoNotFound`/`RevisionNotFound`/`EntryNotFound` as they expect.
 */
export type HubErrorKind = 'RepoNotFound' | 'RevisionNotFound' | 'EntryNotFound' | 'Unauthorized' | 'Forbidden' | 'PreconditionFailed' | 'BadRequest' | 'TooLarge' | 'RangeNotSatisfiable';

export class HubError extends NeurStoreError {
  constructor(code: ErrorCode, readonly kind: HubErrorKind, message: string, readonly commit?: string) {
    super(code, message);
  }
}

export const repoNotFound = (repo: string): HubError => new HubError('NOT_FOUND', 'RepoNotFound', `repository '${repo}' not found`);
export const revisionNotFound = (repo: string, rev: string): HubError =>
  new HubError('NOT_FOUND', 'RevisionNotFound', `revision '${rev}' not found in repository '${repo}'`);
export const entryNotFound = (repo: string, path: string, commit: string): HubError =>
  new HubError('NOT_FOUND', 'EntryNotFound', `no file '${path}' in repository '${repo}' at commit ${commit}`, commit);
export const badRequest = (message: string): HubError => new HubError('INVALID_ARGUMENT', 'BadRequest', message);

const PART = /^[\w\-.]{1,96}$/;

/** `namespace/name`, each part [A-Za-z0-9_.-]{1,96}, no `--` or `..`, not starting or ending with `-`/`.`, no `.git` suffix. */
export function checkRepoId(repo: unknown): string {
  if (typeof repo !== 'string') throw badRequest('a repository id must be a string namespace/name');
  const parts = repo.split('/');
  const ok = parts.length === 2 && parts.every((p) => PART.test(p) && !/^[-.]|[-.]$/.test(p)) && !repo.includes('--') && !repo.includes('..') && !repo.endsWith('.git');
  if (!ok) {
    throw badRequest(`repository id ${JSON.stringify(repo.slice(0, 200))} is not namespace/name (each part 1-96 of A-Z a-z 0-9 _ . -, not starting or ending with - or ., no '--' or '..', no .git suffix)`);
  }
  return repo;
}

/** A file path inside a repository: relative, '/'-separated, no '.', '..' or empty segment, no NUL or backslash, at most 1024 bytes. */
export function checkFilePath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw badRequest('a file path is empty');
  const shown = JSON.stringify(path.slice(0, 200));
  if (Buffer.byteLength(path) > 1024) throw badRequest(`file path ${shown}... is longer than 1024 bytes`);
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw badRequest(`file path ${shown} holds a control character or a backslash`);
  if (path.startsWith('/')) throw badRequest(`file path ${shown} is absolute: paths are relative to the repository's root`);
  if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw badRequest(`file path ${shown} has an empty, '.' or '..' segment: it would leave the repository's tree`);
  }
  if (path === '.git' || path.startsWith('.git/')) throw badRequest(`file path ${shown} is inside .git, which a repository does not hold`);
  return path;
}

/** Branch and tag names: like git's refs, 1-200 characters of [A-Za-z0-9_.-/], no '..', no empty segment, not 40 hex. */
export function checkRefName(name: unknown, what: 'branch' | 'tag'): string {
  if (typeof name !== 'string' || !/^[\w\-./]{1,200}$/.test(name) || name.includes('..') || name.split('/').some((s) => s === '' || s.startsWith('.')) || name.endsWith('.lock')) {
    throw badRequest(`${what} name ${JSON.stringify(String(name).slice(0, 200))} is not valid (1-200 of A-Z a-z 0-9 _ . - /, no '..', no empty segment, no segment starting with '.')`);
  }
  if (isCommitId(name)) throw badRequest(`${what} name '${name}' looks like a commit id (40 hex digits)`);
  return name;
}

export const isCommitId = (s: string): boolean => /^[0-9a-f]{40}$/.test(s);

/** A revision as asked: a branch, a tag, a commit id, or HEAD (the default branch). */
export function checkRevision(rev: unknown): string {
  if (typeof rev !== 'string' || rev.length === 0 || rev.length > 256 || /[\u0000-\u001f\u007f]/.test(rev) || rev.split('/').includes('..')) {
    throw badRequest(`revision ${JSON.stringify(String(rev).slice(0, 200))} is not valid`);
  }
  return rev;
}
