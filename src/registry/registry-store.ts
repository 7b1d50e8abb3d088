/**
 * The seam between the registry and where it keeps its metadata and blobs, in the manner of src/backend/:
 * `RegistryDb` + `BlobStore` (SQLite `registry.sqlite` and zstd files beside a directory store) and
 * `PostgresRegistryStore` + `PostgresBlobs` (tables `hub_*` in a PostgreSQL store's `neurstore` schema,
 * src/registry/postgres/). Every call is async; a write is one transaction that sees the latest committed state
 * (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: the hub's transaction-level advisory lock), so a read-check-write in it
 * (a branch head compared, then moved) is atomic across processes and servers.
 */
import type { Readable } from 'node:stream';
import { NeurStoreError } from '../errors.js';
import type { Mode } from '../store/store-types.js';
import type { ByteRange } from './durable-files.js';
import type { CommitRow, FileRow, HubModelRow, RefRow, RepoRow, TokenRow } from './registry-db.js';

export type { CommitRow, FileRow, HubModelRow, ModelMember, RefRow, RepoRow, TokenRow } from './registry-db.js';

/** The reads of the registry's metadata; every row's checksum is checked (CORRUPTION naming table and row). */
export interface RegistryReads {
  meta(key: string): Promise<string | undefined>;
  repo(name: string): Promise<RepoRow | undefined>;
  repos(): Promise<RepoRow[]>;
  commit(id: string): Promise<CommitRow | undefined>;
  files(commit: string): Promise<FileRow[]>;
  file(commit: string, path: string): Promise<FileRow | undefined>;
  /** A file row anywhere whose pushed bytes had this sha256 and that was stored in this mode (upload dedup). */
  fileBySource(sha256: string, mode: Mode, tolerance: number): Promise<FileRow | undefined>;
  /** Every (repo, commit) whose tree holds a file of store model `model`. */
  commitsWithModel(model: string): Promise<Array<{ repo: string; commit: string; path: string }>>;
  refs(repo: string): Promise<RefRow[]>;
  ref(repo: string, kind: RefRow['kind'], name: string): Promise<RefRow | undefined>;
  model(name: string): Promise<HubModelRow | undefined>;
  tokenByHash(hash: string): Promise<TokenRow | undefined>;
  tokens(): Promise<TokenRow[]>;
}

/** The writes of one transaction; `db` reads inside it. */
export interface RegistryTx {
  readonly db: RegistryReads;
  setMeta(key: string, value: string): Promise<void>;
  insertRepo(r: RepoRow): Promise<void>;
  updateRepo(r: RepoRow): Promise<void>;
  deleteRepo(name: string): Promise<boolean>;
  insertCommit(c: CommitRow, files: readonly FileRow[]): Promise<void>;
  /**
   * Sets a ref. With `expect` (a commit id, or null for "no such ref yet") a compare-and-set: CONFLICT when the
   * ref is not at `expect`.
   */
  setRef(r: RefRow, expect?: string | null): Promise<void>;
  deleteRef(repo: string, kind: RefRow['kind'], name: string): Promise<boolean>;
  insertModel(m: HubModelRow): Promise<void>;
  insertToken(t: TokenRow): Promise<void>;
  deleteToken(idOrName: string): Promise<number>;
}

export interface RegistryStore extends RegistryReads {
  /** Where it is, for messages (a URL without its password). */
  readonly location: string;
  readonly readOnly: boolean;
  /** Runs `fn` as one transaction: all of its writes or none. Writes are serialized (per process and across). */
  write<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Content-addressed, zstd-compressed blobs (the files of a repository that are not models). */
export interface RegistryBlobs {
  has(sha256: string): Promise<boolean>;
  /** Stores the bytes `source()` gives, unless a blob of that sha256 is there; CONFLICT when they do not hash to it. */
  put(sha256: string, size: number, source: () => Readable): Promise<{ storedBytes: number }>;
  /** The blob's bytes, or bytes [start, end] of them; CORRUPTION when a named blob is missing. */
  open(sha256: string, range?: ByteRange): Promise<Readable>;
  bytes(sha256: string): Promise<Buffer>;
}

/** Commits from `head` back along parents (newest first), at most `limit`; a missing parent is CORRUPTION. */
export async function commitHistory(db: Pick<RegistryReads, 'commit'> & { readonly location: string }, head: string, limit: number): Promise<CommitRow[]> {
  const out: CommitRow[] = [];
  for (let id: string | null = head; id && out.length < limit;) {
    const c: CommitRow | undefined = await db.commit(id);
    if (!c) throw new NeurStoreError('CORRUPTION', `registry ${db.location}: commit ${id} is named as a parent but missing`);
    out.push(c);
    id = c.parent;
  }
  return out;
}
