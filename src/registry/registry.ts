/**
 * The registry: repositories `namespace/name` of files at immutable commits (40-hex ids) on branches (`main`
 * by default) and tags, above the tensor store. Model files go into the store (see hub-models.ts); every other
 * file is a zstd blob; metadata and blobs sit behind registry-store.ts: registry.sqlite (registry-db.ts) and
 * blob-store.ts beside a directory store, tables hub_* (postgres/) in a PostgreSQL store. A commit is written in
 * this order, so a crash at any point leaves the repository as it was or with the whole new commit: files are
 * staged, models put (the store's own commit), blobs written durably, then one transaction inserts the commit,
 * its files and moves the branch by compare-and-set on the head it read.
 */
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NeurStoreError, conflict, invalidArgument, isNeurStoreError, notFound } from '../errors.js';
import { NeurStore } from '../store/neur-store.js';
import { isDatabaseUrl, resolveMode } from '../store/neur-store.js';
import { redactUrl } from '../backend/postgres/postgres-connect.js';
import { tmpdir } from 'node:os';
import type { Mode } from '../store/store-types.js';
import { BlobStore } from './blob-store.js';
import { exists, identityOfFile, linkOrCopy, looksBinary, lfsPointer, readableOf, writeAtomic, writeBytesAtomic, type ByteRange, type FileIdentity } from './durable-files.js';
import { applyOps, makeCommit, type CommitOp } from './commit-tree.js';
import {
  HubError, checkFilePath, checkRefName, checkRepoId, checkRevision, entryNotFound, isCommitId, repoNotFound, revisionNotFound,
} from './hub-names.js';
import { detectsAsModel, findModel, hubModelName, memberIdentities, memberStream } from './hub-models.js';
import { baseModelsOfCard } from './model-card.js';
import { REGISTRY_FILE, RegistryDb, type CommitRow, type FileRow, type HubModelRow, type RefRow, type RepoRow } from './registry-db.js';
import { commitHistory, type RegistryBlobs, type RegistryStore } from './registry-store.js';
import { DirectoryUploads, type RegistryUploads } from './uploads.js';
import { Lru } from './row-cache.js';
import { openPostgresRegistry } from './postgres/postgres-registry.js';

export type { CommitOp } from './commit-tree.js';

export const DEFAULT_BRANCH = 'main';
/** Files above this size, or whose first 8 KiB hold a NUL byte, are "LFS" files in the Hub's sense. */
export const LFS_THRESHOLD = 10 * 1024 * 1024;
/** Commits of one registry that run side by side (each stages its files; memory and disk bound the number). */
const COMMITS_AT_ONCE = 4;
/** Trees of at most this many files are cached whole (at most 256 of them). */
const TREE_CACHE_FILES = 2000;

export interface CommitOptions {
  branch?: string;
  message?: string;
  description?: string;
  author?: string;
  /** The commit the writer based its change on: CONFLICT (HTTP 412) when the branch has moved on. */
  parentCommit?: string;
  /** The new tree is exactly the files put (a `push DIR`), instead of the parent's tree changed by the ops. */
  replaceTree?: boolean;
  mode?: Mode;
  tolerance?: number;
  onProgress?: (message: string) => void;
}

export interface CommitResult {
  commit: CommitRow;
  files: FileRow[];
  /** Files this commit added or changed, and how each was stored. */
  changed: Array<{ path: string; kind: 'blob' | 'model'; size: number; storedBytes: number; reused: boolean }>;
}

export interface RegistryOpenOptions {
  readOnly?: boolean;
  /** Create the store if the directory holds none. */
  create?: boolean;
  decodeWorkers?: number;
}

export class Registry {
  private constructor(
    /** The store's directory, or its URL without the password. */
    readonly dir: string,
    readonly store: NeurStore,
    readonly db: RegistryStore,
    readonly blobs: RegistryBlobs,
    /** LFS uploads in flight, seen by every server on the store (uploads.ts). */
    readonly uploads: RegistryUploads,
    /** Where commits stage files: beside a directory store, else a directory of this machine. */
    readonly workDir: string,
  ) {}

  /** Rows that never change once written (row-cache.ts): commits, a commit's files, model rows. */
  private readonly commits = new Lru<CommitRow>(4096);
  private readonly trees = new Lru<{ list: FileRow[]; byPath: Map<string, FileRow> }>(256);
  private readonly models = new Lru<HubModelRow>(1024);

  /**
   * Opens the hub of the store at `dir`: a directory store keeps it in registry.sqlite and registry/blobs beside
   * the store; a PostgreSQL store (a postgres:// URL) in tables `hub_*` of the same database, shared by every
   * server that opens it.
   */
  static async open(dir: string, options: RegistryOpenOptions = {}): Promise<Registry> {
    if (isDatabaseUrl(dir)) {
      const store = options.create ? await NeurStore.init(dir, { decodeWorkers: options.decodeWorkers }) : await NeurStore.open(dir, { readOnly: options.readOnly, decodeWorkers: options.decodeWorkers });
      try {
        const location = redactUrl(dir);
        const { db, blobs, uploads } = await openPostgresRegistry(dir, Boolean(options.readOnly));
        const work = join(tmpdir(), 'neurstore-hub', createHash('sha256').update(location).digest('hex').slice(0, 16));
        return new Registry(location, store, db, blobs, uploads, work);
      } catch (e) {
        await store.close();
        throw e;
      }
    }
    const store = options.create ? await NeurStore.init(dir, { decodeWorkers: options.decodeWorkers }) : await NeurStore.open(dir, { readOnly: options.readOnly, decodeWorkers: options.decodeWorkers });
    try {
      const dbPath = join(dir, REGISTRY_FILE);
      if (options.readOnly && !(await exists(dbPath))) throw notFound(`the store at ${dir} holds no repositories yet: push one with \`neurstore push DIR namespace/name\``);
      const db = new RegistryDb(dbPath, Boolean(options.readOnly));
      return new Registry(dir, store, db, new BlobStore(join(dir, 'registry', 'blobs')), new DirectoryUploads(join(dir, 'registry', 'uploads')), dir);
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
    await this.store.close();
  }

  /** A secret of this registry (signing upload URLs), made once and kept in the database. */
  async secret(name: string): Promise<string> {
    const have = await this.db.meta(`secret:${name}`);
    if (have) return have;
    return this.db.write(async (tx) => {
      const again = await tx.db.meta(`secret:${name}`);
      if (again) return again;
      const s = randomBytes(32).toString('hex');
      await tx.setMeta(`secret:${name}`, s);
      return s;
    });
  }

  // ---- repositories and revisions ----

  async createRepo(name: string, options: { private?: boolean; mode?: Mode; tolerance?: number; author?: string } = {}): Promise<RepoRow> {
    checkRepoId(name);
    const { mode, tolerance } = resolveMode({ mode: options.mode, tolerance: options.tolerance });
    const repo: RepoRow = { name, private: Boolean(options.private), mode, tolerance, createdMs: Date.now() };
    const commit = makeCommit(name, null, [], 'initial commit', options.author ?? 'neurstore', repo.createdMs, []);
    await this.db.write(async (tx) => {
      if (await tx.db.repo(name)) throw new HubError('CONFLICT', 'BadRequest', `repository '${name}' already exists`);
      await tx.insertRepo(repo);
      await tx.insertCommit(commit, []);
      await tx.setRef({ repo: name, kind: 'branch', name: DEFAULT_BRANCH, commit: commit.id });
    });
    return repo;
  }

  async updateRepo(name: string, change: { private?: boolean }): Promise<RepoRow> {
    return this.db.write(async (tx) => {
      const r = await tx.db.repo(name);
      if (!r) throw repoNotFound(name);
      const next = { ...r, private: change.private ?? r.private };
      await tx.updateRepo(next);
      return next;
    });
  }

  async deleteRepo(name: string): Promise<void> {
    const gone = await this.db.write((tx) => tx.deleteRepo(name));
    if (!gone) throw repoNotFound(name);
  }

  async repo(name: string): Promise<RepoRow> {
    checkRepoId(name);
    const r = await this.db.repo(name);
    if (!r) throw repoNotFound(name);
    return r;
  }

  repos(): Promise<RepoRow[]> {
    return this.db.repos();
  }

  /**
   * The commit `rev` names in `repo`: a branch, a tag, a commit id of the repo, or HEAD (the default branch).
   * `repo` may be the repository's row, read just before (by an access check): then it is not read again.
   */
  async resolve(repoOrRow: string | RepoRow, rev: string = DEFAULT_BRANCH): Promise<CommitRow> {
    const repo = typeof repoOrRow === 'string' ? (await this.repo(repoOrRow)).name : repoOrRow.name;
    checkRevision(rev);
    const name = rev === 'HEAD' ? DEFAULT_BRANCH : rev.replace(/^refs\/(heads|tags)\//, '');
    const ref = (await this.db.ref(repo, 'branch', name)) ?? (await this.db.ref(repo, 'tag', name));
    // A commit a ref names exists; a commit id given as such is looked up (its repository may have been deleted).
    const c = ref ? await this.commitRow(ref.commit) : isCommitId(rev) ? await this.db.commit(rev) : undefined;
    if (!c || c.repo !== repo) throw revisionNotFound(repo, rev);
    return c;
  }

  /** A commit by id (cached: commits never change). */
  commitRow(id: string): Promise<CommitRow | undefined> {
    return this.commits.through(id, () => this.db.commit(id));
  }

  /** A commit's tree, cached when it holds at most TREE_CACHE_FILES files (bounded memory). */
  private async tree(commit: string): Promise<{ list: FileRow[]; byPath: Map<string, FileRow> }> {
    const have = this.trees.get(commit);
    if (have) return have;
    const list = await this.db.files(commit);
    const tree = { list, byPath: new Map(list.map((f) => [f.path, f])) };
    if (list.length <= TREE_CACHE_FILES) this.trees.set(commit, tree);
    return tree;
  }

  async refs(repo: string): Promise<RefRow[]> {
    await this.repo(repo);
    return this.db.refs(repo);
  }

  /** The commit's files, sorted by path (cached: a commit's tree never changes; do not modify the list). */
  async files(commit: CommitRow): Promise<FileRow[]> {
    return (await this.tree(commit.id)).list;
  }

  async file(commit: CommitRow, path: string): Promise<FileRow> {
    checkFilePath(path);
    const f = await this.fileAt(commit.id, path);
    if (!f) throw entryNotFound(commit.repo, path, commit.id);
    return f;
  }

  /** The file at `path` in commit `commitId`, if any (cached). */
  async fileAt(commitId: string, path: string): Promise<FileRow | undefined> {
    const tree = this.trees.get(commitId);
    if (tree) return tree.byPath.get(path);
    const f = await this.db.file(commitId, path);
    void this.tree(commitId).catch(() => undefined); // cache the tree for the next request (a small one)
    return f;
  }

  async log(repo: string | RepoRow, rev?: string, limit = 1000): Promise<CommitRow[]> {
    return commitHistory({ location: this.db.location, commit: (id: string) => this.commitRow(id) }, (await this.resolve(repo, rev)).id, limit);
  }

  async tag(repo: string, name: string, rev?: string): Promise<RefRow> {
    checkRefName(name, 'tag');
    const commit = await this.resolve(repo, rev);
    const ref: RefRow = { repo, kind: 'tag', name, commit: commit.id };
    await this.db.write(async (tx) => {
      if (await tx.db.ref(repo, 'tag', name)) throw conflict(`tag '${name}' already exists in '${repo}' (tags do not move: delete it first)`);
      await tx.setRef(ref, null);
    });
    return ref;
  }

  async deleteTag(repo: string, name: string): Promise<void> {
    await this.repo(repo);
    const gone = await this.db.write((tx) => tx.deleteRef(repo, 'tag', name));
    if (!gone) throw new HubError('NOT_FOUND', 'RevisionNotFound', `no tag '${name}' in '${repo}'`);
  }

  async createBranch(repo: string, name: string, rev?: string): Promise<RefRow> {
    checkRefName(name, 'branch');
    const commit = await this.resolve(repo, rev);
    const ref: RefRow = { repo, kind: 'branch', name, commit: commit.id };
    await this.db.write(async (tx) => {
      if (await tx.db.ref(repo, 'branch', name)) throw conflict(`branch '${name}' already exists in '${repo}'`);
      await tx.setRef(ref, null);
    });
    return ref;
  }

  // ---- reading files ----

  /** A file's bytes, or bytes [start, end] of them, as a stream (model files decode as they stream). */
  async openFile(f: FileRow, range?: ByteRange): Promise<Readable> {
    if (f.kind === 'blob') return this.blobs.open(f.ref, range);
    return memberStream(this.store, await this.modelOf(f.ref), f.member, range);
  }

  async fileBytes(f: FileRow): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.openFile(f)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /** The registry row of store model `name` (its format and member files). */
  async modelOf(name: string): Promise<HubModelRow> {
    const model = await this.models.through(name, () => this.db.model(name));
    if (!model) throw new NeurStoreError('CORRUPTION', `model ${name} that a commit names has no registry row`);
    return model;
  }

  /** Writes every file of `repo` at `rev` under `outDir` (each atomically); returns the commit and files. */
  async pull(repo: string, rev: string | undefined, outDir: string): Promise<{ commit: CommitRow; files: FileRow[] }> {
    const commit = await this.resolve(repo, rev);
    const files = await this.files(commit);
    for (const f of files) {
      checkFilePath(f.path);
      const src = await this.openFile(f);
      await writeAtomic(join(outDir, ...f.path.split('/')), (out) => pipeline(src, out));
    }
    return { commit, files };
  }

  // ---- writing commits ----

  /** Commits running now, and those waiting for one of COMMITS_AT_ONCE places. */
  private commitsRunning = 0;
  private readonly commitsWaiting: Array<() => void> = [];

  /**
   * Applies `ops` on top of the branch (or replaces its tree) as one new commit. Up to COMMITS_AT_ONCE run side by
   * side (staging, hashing, model puts and blob writes overlap); only the final transaction is serialized (the
   * registry's write lock, as between servers), and it applies the ops to the branch head it finds then, so
   * concurrent commits to one branch all land unless one named a `parentCommit` that moved (412).
   */
  async commit(repo: string, ops: readonly CommitOp[], options: CommitOptions = {}): Promise<CommitResult> {
    if (this.commitsRunning >= COMMITS_AT_ONCE) await new Promise<void>((resolve) => this.commitsWaiting.push(resolve));
    else this.commitsRunning++;
    try {
      return await this.runCommit(repo, ops, options);
    } finally {
      const next = this.commitsWaiting.shift();
      if (next) next(); // the place passes on
      else this.commitsRunning--;
    }
  }

  private async runCommit(repoName: string, ops: readonly CommitOp[], o: CommitOptions): Promise<CommitResult> {
    const repo = await this.repo(repoName);
    const branch = checkRefName(o.branch ?? DEFAULT_BRANCH, 'branch');
    const { mode, tolerance } = o.mode !== undefined || o.tolerance !== undefined ? resolveMode({ mode: o.mode, tolerance: o.tolerance }) : repo;
    const seen = new Set<string>();
    for (const op of ops) {
      checkFilePath(op.op === 'deleteFolder' ? op.path.replace(/\/+$/, '') : op.path);
      if (op.op === 'put' && seen.has(op.path)) throw invalidArgument(`the commit puts '${op.path}' twice`);
      seen.add(op.path);
    }
    const startHead = await this.db.ref(repoName, 'branch', branch);
    const parentRows = startHead && !o.replaceTree ? await this.db.files(startHead.commit) : [];
    const staging = join(this.workDir, 'registry', 'staging', `${process.pid}-${randomBytes(6).toString('hex')}`);
    const consumedUploads: string[] = [];
    try {
      const puts = ops.filter((op): op is Extract<CommitOp, { op: 'put' }> => op.op === 'put');
      const staged = new Map<string, FileIdentity>();
      const reused = new Map<string, FileRow>();
      for (const op of puts) {
        const dest = join(staging, ...op.path.split('/'));
        await fsp.mkdir(posix.dirname(dest), { recursive: true });
        if ('bytes' in op) await fsp.writeFile(dest, op.bytes);
        else if ('file' in op) await linkOrCopy(op.file, dest);
        else {
          if (await this.uploads.copyTo(op.upload, dest)) {
            consumedUploads.push(op.upload);
          } else {
            const row = await this.db.fileBySource(op.upload, mode, tolerance);
            if (!row || (op.size !== undefined && row.size !== op.size && row.sourceSha256 === row.sha256)) {
              throw new HubError('INVALID_ARGUMENT', 'BadRequest', `file '${op.path}': no uploaded object with sha256 ${op.upload}${op.size === undefined ? '' : ` and size ${op.size}`} (upload it through the LFS batch endpoint first)`);
            }
            reused.set(op.path, { ...row, path: op.path });
            continue;
          }
        }
        const id = await identityOfFile(dest);
        if ('upload' in op && id.sha256 !== op.upload) throw new NeurStoreError('CORRUPTION', `upload ${op.upload} holds bytes of sha256 ${id.sha256}`);
        staged.set(op.path, id);
        o.onProgress?.(`staged ${op.path}`);
      }
      const { rows, changed } = await this.storeFiles(staging, staged, parentRows, mode, tolerance, o);
      for (const [path, row] of reused) {
        rows.set(path, row);
        changed.push({ path, kind: row.kind, size: row.size, storedBytes: 0, reused: true });
      }
      const cardBaseModels = await this.cardBaseModels(staging, staged, rows, parentRows, ops);
      const result = await this.db.write(async (tx) => {
        const head = await tx.db.ref(repoName, 'branch', branch);
        if (o.parentCommit && head && o.parentCommit !== head.commit) {
          throw new HubError('CONFLICT', 'PreconditionFailed', `branch '${branch}' of '${repoName}' is at ${head.commit}, not at the parent commit ${o.parentCommit} the change was based on`);
        }
        if (!head && branch !== DEFAULT_BRANCH && !o.replaceTree) {
          throw revisionNotFound(repoName, branch);
        }
        const base = o.replaceTree || !head ? [] : await tx.db.files(head.commit);
        const tree = applyOps(base, ops, rows, repoName);
        const commit = makeCommit(repoName, head?.commit ?? null, tree, [o.message ?? 'update', o.description].filter(Boolean).join('\n\n'), o.author ?? 'neurstore', Date.now(), cardBaseModels);
        await tx.insertCommit(commit, tree);
        // Compare-and-set: the head read above is the one moved from (the write lock makes this hold already;
        // a store that lost it says CONFLICT rather than drop a commit).
        await tx.setRef({ repo: repoName, kind: 'branch', name: branch, commit: commit.id }, head?.commit ?? null);
        return { commit, files: tree, changed };
      });
      for (const u of consumedUploads) await this.uploads.remove(u).catch(() => undefined); // else swept by age
      return result;
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }

  /** Stores the staged files: models through the tensor store, everything else as blobs. */
  private async storeFiles(staging: string, staged: ReadonlyMap<string, FileIdentity>, parentRows: readonly FileRow[], mode: Mode, tolerance: number, o: CommitOptions): Promise<{ rows: Map<string, FileRow>; changed: CommitResult['changed'] }> {
    const rows = new Map<string, FileRow>();
    const changed: CommitResult['changed'] = [];
    const claimed = new Set<string>();
    for (const path of [...staged.keys()].sort()) {
      if (claimed.has(path)) continue;
      let found = await findModel(staging, path);
      // Siblings from the parent commit only for a file in a model format whose companions are not in this commit
      // (before: for every file that was not a model, rewriting every binary sibling on each commit).
      if (!found && (await detectsAsModel(staging, path)) && (await this.materializeSiblings(staging, path, parentRows, staged))) found = await findModel(staging, path);
      if (!found || found.companions.some((c) => claimed.has(c))) continue;
      const group = [path, ...found.companions];
      const ids = await Promise.all(group.map(async (p) => staged.get(p) ?? identityOfFile(join(staging, ...p.split('/')))));
      const name = hubModelName(ids, mode, tolerance);
      let storedBytes = 0;
      let model = await this.db.model(name);
      const reused = Boolean(model);
      if (!model) {
        o.onProgress?.(`storing model ${path} (${found.layout.format}, ${mode})`);
        try {
          storedBytes = (await this.store.put(join(staging, ...path.split('/')), { name, mode, tolerance: mode === 'lossless' ? undefined : tolerance })).storedBytes;
        } catch (e) {
          if (!isNeurStoreError(e, 'CONFLICT') || !/already exists/.test(e.message)) throw e;
        }
        const arch = found.layout.architecture;
        const archId = createHash('sha256').update(arch).digest('hex');
        storedBytes += (await this.blobs.put(archId, arch.length, () => readableOf(arch))).storedBytes;
        const sizes = new Map<string, number>([['', ids[0]!.size], ...found.companions.map((c, i) => [posix.relative(posix.dirname(path), c), ids[i + 1]!.size] as [string, number])]);
        const draft: HubModelRow = { name, format: found.layout.format, architecture: archId, members: [] };
        const members = await memberIdentities(this.store, draft, sizes);
        model = { ...draft, members };
        if (mode === 'lossless') {
          members.forEach((m, i) => {
            if (m.sha256 !== ids[i]!.sha256) throw new NeurStoreError('CORRUPTION', `model file '${group[i]}' did not come back byte-exact from the store (sha256 ${m.sha256}, pushed ${ids[i]!.sha256}); nothing was committed`);
          });
        }
        const row = model;
        await this.db.write((tx) => tx.insertModel(row));
      }
      if (model.members.length !== group.length) continue; // the format writes other files than it read: keep them as blobs
      group.forEach((p, i) => {
        const m = model!.members[i]!;
        rows.set(p, { path: p, size: m.size, sha256: m.sha256, gitSha1: m.gitSha1, sourceSha256: ids[i]!.sha256, lfs: true, kind: 'model', ref: name, member: m.member });
        claimed.add(p);
        if (staged.has(p)) changed.push({ path: p, kind: 'model', size: m.size, storedBytes: i === 0 ? storedBytes : 0, reused });
      });
    }
    for (const [path, id] of staged) {
      if (claimed.has(path)) continue;
      const file = join(staging, ...path.split('/'));
      const { storedBytes } = await this.blobs.put(id.sha256, id.size, () => createReadStream(file));
      rows.set(path, { path, size: id.size, sha256: id.sha256, gitSha1: id.gitSha1, sourceSha256: id.sha256, lfs: id.size > LFS_THRESHOLD || (await looksBinary(file)), kind: 'blob', ref: id.sha256, member: '' });
      changed.push({ path, kind: 'blob', size: id.size, storedBytes, reused: storedBytes === 0 });
    }
    return { rows, changed };
  }

  /** `base_model` of the model card (README.md) the new tree will hold: the one put now, else the parent's. */
  private async cardBaseModels(staging: string, staged: ReadonlyMap<string, FileIdentity>, rows: ReadonlyMap<string, FileRow>, parentRows: readonly FileRow[], ops: readonly CommitOp[]): Promise<string[]> {
    const isCard = (p: string) => p.toLowerCase() === 'readme.md';
    const put = [...rows.keys()].find(isCard);
    if (put) {
      const row = rows.get(put)!;
      if (row.size > 1 << 20) return [];
      const text = staged.has(put) ? await fsp.readFile(join(staging, put), 'utf8') : (await this.fileBytes(row)).toString('utf8');
      return baseModelsOfCard(text);
    }
    const old = parentRows.find((f) => isCard(f.path));
    if (!old || old.size > 1 << 20 || ops.some((op) => op.op !== 'put' && (op.path === old.path || old.path.startsWith(op.path.replace(/\/*$/, '/'))))) return [];
    return baseModelsOfCard((await this.fileBytes(old)).toString('utf8'));
  }

  /**
   * A model whose companions are in the parent commit but not in this one (a TF.js model.json changed alone):
   * writes the parent's files of that directory into the staging area. True when it wrote any.
   */
  private async materializeSiblings(staging: string, path: string, parentRows: readonly FileRow[], staged: ReadonlyMap<string, FileIdentity>): Promise<boolean> {
    const dir = posix.dirname(path);
    const siblings = parentRows.filter((f) => posix.dirname(f.path) === dir && !staged.has(f.path) && f.lfs);
    for (const f of siblings) {
      const dest = join(staging, ...f.path.split('/'));
      if (await exists(dest)) continue;
      await pipeline(await this.openFile(f), createWriteStream(dest));
    }
    return siblings.length > 0;
  }
}

export { lfsPointer, writeBytesAtomic };
