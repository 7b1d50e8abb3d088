/**
 * The registry's own metadata: one SQLite database (`registry.sqlite`) beside the store's catalog, in WAL mode
 * with `synchronous = FULL`, every write one `BEGIN IMMEDIATE` transaction (so a crash leaves the previous
 * state or the new one, never half a commit), and a CRC-32 checksum per row, checked on every read: a flipped
 * bit is CORRUPTION naming the table and the row, never a wrong file served. Blobs and models a row names are
 * made durable before the row is written, so a row never points at nothing.
 */
import Database from 'better-sqlite3';
import { crc32 } from 'node:zlib';
import { NeurStoreError, conflict } from '../errors.js';
import { guarded, sqliteError } from '../backend/sqlite/sqlite-open.js';
import type { Mode } from '../store/store-types.js';
import type { RegistryStore, RegistryTx } from './registry-store.js';

export const REGISTRY_FILE = 'registry.sqlite';
const SCHEMA_VERSION = '1';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS repos (name TEXT PRIMARY KEY, private INTEGER NOT NULL, mode TEXT NOT NULL, tolerance REAL NOT NULL,
  created_ms INTEGER NOT NULL, crc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commits (id TEXT PRIMARY KEY, repo TEXT NOT NULL REFERENCES repos(name) ON DELETE CASCADE, parent TEXT,
  message TEXT NOT NULL, author TEXT NOT NULL, created_ms INTEGER NOT NULL, base_models TEXT NOT NULL, crc INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS commits_repo ON commits(repo, created_ms);
CREATE TABLE IF NOT EXISTS files (commit_id TEXT NOT NULL REFERENCES commits(id) ON DELETE CASCADE, path TEXT NOT NULL,
  size INTEGER NOT NULL, sha256 TEXT NOT NULL, git_sha1 TEXT NOT NULL, source_sha256 TEXT NOT NULL, lfs INTEGER NOT NULL,
  kind TEXT NOT NULL, ref TEXT NOT NULL, member TEXT NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (commit_id, path));
CREATE INDEX IF NOT EXISTS files_source ON files(source_sha256);
CREATE INDEX IF NOT EXISTS files_ref ON files(ref);
CREATE TABLE IF NOT EXISTS refs (repo TEXT NOT NULL REFERENCES repos(name) ON DELETE CASCADE, kind TEXT NOT NULL, name TEXT NOT NULL,
  commit_id TEXT NOT NULL, crc INTEGER NOT NULL, PRIMARY KEY (repo, kind, name));
CREATE TABLE IF NOT EXISTS models (name TEXT PRIMARY KEY, format TEXT NOT NULL, architecture TEXT NOT NULL, members TEXT NOT NULL,
  crc INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, scope TEXT NOT NULL,
  repo_pattern TEXT NOT NULL, created_ms INTEGER NOT NULL, crc INTEGER NOT NULL);
`;

export interface RepoRow { name: string; private: boolean; mode: Mode; tolerance: number; createdMs: number }
export interface CommitRow { id: string; repo: string; parent: string | null; message: string; author: string; createdMs: number; baseModels: string[] }
/**
 * A file at a commit. `kind` says where its bytes are: `blob` (a zstd blob named by `ref`, its sha256) or
 * `model` (member file `member` of store model `ref`). `sha256`/`size`/`gitSha1` are those of the bytes served
 * (equal to the pushed ones in lossless mode); `sourceSha256` is the pushed file's, for upload dedup.
 */
export interface FileRow {
  path: string; size: number; sha256: string; gitSha1: string; sourceSha256: string; lfs: boolean;
  kind: 'blob' | 'model'; ref: string; member: string;
}
export interface RefRow { repo: string; kind: 'branch' | 'tag'; name: string; commit: string }
/** A member file of a stored model: the name the format writes it under, and its bytes' identity. */
export interface ModelMember { member: string; size: number; sha256: string; gitSha1: string }
export interface HubModelRow { name: string; format: string; architecture: string; members: ModelMember[] }
export interface TokenRow { id: string; name: string; hash: string; scope: 'read' | 'write'; repoPattern: string; createdMs: number }

type Raw = Record<string, unknown>;
export const rowSum = (fields: unknown[]): number => crc32(JSON.stringify(fields));

export const repoFields = (r: RepoRow): unknown[] => [r.name, r.private, r.mode, r.tolerance, r.createdMs];
export const commitFields = (c: CommitRow): unknown[] => [c.id, c.repo, c.parent, c.message, c.author, c.createdMs, c.baseModels];
export const fileFields = (commit: string, f: FileRow): unknown[] => [commit, f.path, f.size, f.sha256, f.gitSha1, f.sourceSha256, f.lfs, f.kind, f.ref, f.member];
export const refFields = (r: RefRow): unknown[] => [r.repo, r.kind, r.name, r.commit];
export const modelFields = (m: HubModelRow): unknown[] => [m.name, m.format, m.architecture, m.members];
export const tokenFields = (t: TokenRow): unknown[] => [t.id, t.name, t.hash, t.scope, t.repoPattern, t.createdMs];

export class RegistryDb implements RegistryStore {
  private readonly db: Database.Database;
  private writeQueue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string, readonly readOnly = false) {
    this.db = guarded(path, 'cannot open registry', () => new Database(path, readOnly ? { readonly: true, fileMustExist: true, timeout: 60_000 } : { timeout: 60_000 }));
    try {
      if (!readOnly) {
        if (this.db.pragma('journal_mode', { simple: true }) !== 'wal') this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        this.db.pragma('foreign_keys = ON');
        this.db.exec(SCHEMA);
        this.db.prepare('INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)').run('schema_version', SCHEMA_VERSION);
      }
      const v = (this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as Raw | undefined)?.value;
      if (v !== SCHEMA_VERSION) throw new NeurStoreError('NOT_SUPPORTED', `registry ${path} has schema version ${String(v)}; this NeurStore reads ${SCHEMA_VERSION}`);
    } catch (e) {
      this.db.close();
      throw sqliteError(path, 'cannot open registry', e);
    }
  }

  get location(): string {
    return this.path;
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private check(table: string, key: string, fields: unknown[], crc: unknown): void {
    if (rowSum(fields) !== Number(crc)) {
      throw new NeurStoreError('CORRUPTION', `registry ${this.path}: row ${key} of table ${table} fails its checksum (the database was damaged); restore registry.sqlite from a backup`);
    }
  }

  /** Prepared statements by SQL text (a fixed set): preparing one per call cost more than running it. */
  private readonly statements = new Map<string, Database.Statement>();

  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private all(sql: string, ...args: unknown[]): Raw[] {
    return guarded(this.path, 'read from registry', () => this.statement(sql).all(...args) as Raw[]);
  }

  // ---- reads ----

  async meta(key: string): Promise<string | undefined> {
    return this.all('SELECT value FROM meta WHERE key = ?', key)[0]?.value as string | undefined;
  }

  async repo(name: string): Promise<RepoRow | undefined> {
    const r = this.all('SELECT * FROM repos WHERE name = ?', name)[0];
    return r && this.toRepo(r);
  }

  async repos(): Promise<RepoRow[]> {
    return this.all('SELECT * FROM repos ORDER BY name').map((r) => this.toRepo(r));
  }

  private toRepo(r: Raw): RepoRow {
    const row: RepoRow = { name: r.name as string, private: r.private === 1, mode: r.mode as Mode, tolerance: r.tolerance as number, createdMs: r.created_ms as number };
    this.check('repos', row.name, repoFields(row), r.crc);
    return row;
  }

  async commit(id: string): Promise<CommitRow | undefined> {
    const r = this.all('SELECT * FROM commits WHERE id = ?', id)[0];
    return r && this.toCommit(r);
  }

  private toCommit(r: Raw): CommitRow {
    const row: CommitRow = {
      id: r.id as string, repo: r.repo as string, parent: (r.parent as string | null) ?? null, message: r.message as string,
      author: r.author as string, createdMs: r.created_ms as number, baseModels: parseJson(this.path, 'commits', r.id as string, r.base_models) as string[],
    };
    this.check('commits', row.id, commitFields(row), r.crc);
    return row;
  }

  async files(commit: string): Promise<FileRow[]> {
    return this.all('SELECT * FROM files WHERE commit_id = ? ORDER BY path', commit).map((r) => this.toFile(commit, r));
  }

  async file(commit: string, path: string): Promise<FileRow | undefined> {
    const r = this.all('SELECT * FROM files WHERE commit_id = ? AND path = ?', commit, path)[0];
    return r && this.toFile(commit, r);
  }

  /** A file row anywhere whose pushed bytes had this sha256 and that was stored in this mode (upload dedup). */
  async fileBySource(sha256: string, mode: Mode, tolerance: number): Promise<FileRow | undefined> {
    const rows = this.all(
      'SELECT f.* FROM files f JOIN commits c ON c.id = f.commit_id JOIN repos r ON r.name = c.repo WHERE f.source_sha256 = ? LIMIT 50', sha256);
    return firstOfSource(rows.map((r) => this.toFile(r.commit_id as string, r)), mode, tolerance, (name) => this.model(name));
  }

  /** Every (repo, commit) whose tree holds a file of store model `model`. */
  async commitsWithModel(model: string): Promise<Array<{ repo: string; commit: string; path: string }>> {
    return this.all('SELECT c.repo, f.commit_id, f.path FROM files f JOIN commits c ON c.id = f.commit_id WHERE f.ref = ? AND f.kind = ?', model, 'model')
      .map((r) => ({ repo: r.repo as string, commit: r.commit_id as string, path: r.path as string }));
  }

  private toFile(commit: string, r: Raw): FileRow {
    const row: FileRow = {
      path: r.path as string, size: r.size as number, sha256: r.sha256 as string, gitSha1: r.git_sha1 as string, sourceSha256: r.source_sha256 as string,
      lfs: r.lfs === 1, kind: r.kind as FileRow['kind'], ref: r.ref as string, member: r.member as string,
    };
    this.check('files', `${commit}:${row.path}`, fileFields(commit, row), r.crc);
    return row;
  }

  async refs(repo: string): Promise<RefRow[]> {
    return this.all('SELECT * FROM refs WHERE repo = ? ORDER BY kind, name', repo).map((r) => this.toRef(r));
  }

  async ref(repo: string, kind: RefRow['kind'], name: string): Promise<RefRow | undefined> {
    const r = this.all('SELECT * FROM refs WHERE repo = ? AND kind = ? AND name = ?', repo, kind, name)[0];
    return r && this.toRef(r);
  }

  private toRef(r: Raw): RefRow {
    const row: RefRow = { repo: r.repo as string, kind: r.kind as RefRow['kind'], name: r.name as string, commit: r.commit_id as string };
    this.check('refs', `${row.repo}:${row.kind}:${row.name}`, refFields(row), r.crc);
    return row;
  }

  async model(name: string): Promise<HubModelRow | undefined> {
    const r = this.all('SELECT * FROM models WHERE name = ?', name)[0];
    if (!r) return undefined;
    const row: HubModelRow = { name: r.name as string, format: r.format as string, architecture: r.architecture as string, members: parseJson(this.path, 'models', r.name as string, r.members) as ModelMember[] };
    this.check('models', row.name, modelFields(row), r.crc);
    return row;
  }

  async tokenByHash(hash: string): Promise<TokenRow | undefined> {
    const r = this.all('SELECT * FROM tokens WHERE hash = ?', hash)[0];
    return r && this.toToken(r);
  }

  async tokens(): Promise<TokenRow[]> {
    return this.all('SELECT * FROM tokens ORDER BY created_ms').map((r) => this.toToken(r));
  }

  private toToken(r: Raw): TokenRow {
    const row: TokenRow = { id: r.id as string, name: r.name as string, hash: r.hash as string, scope: r.scope as TokenRow['scope'], repoPattern: r.repo_pattern as string, createdMs: r.created_ms as number };
    this.check('tokens', row.id, tokenFields(row), r.crc);
    return row;
  }

  // ---- writes: one transaction each, serialized in this process, BEGIN IMMEDIATE across processes ----

  /**
   * One `BEGIN IMMEDIATE` transaction around `fn`. `fn` awaits only this database's calls, which settle at once,
   * so no other request's code runs inside the transaction.
   */
  write<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T> {
    const run = this.writeQueue.then(async () => {
      if (this.readOnly) throw conflict('the registry is open read-only');
      guarded(this.path, 'write to registry', () => this.db.exec('BEGIN IMMEDIATE'));
      try {
        const out = await fn(this.tx());
        guarded(this.path, 'write to registry', () => this.db.exec('COMMIT'));
        return out;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e instanceof NeurStoreError ? e : sqliteError(this.path, 'write to registry', e);
      }
    });
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private tx(): RegistryTx {
    const run = (sql: string, ...args: unknown[]) => this.statement(sql).run(...args);
    return {
      db: this,
      setMeta: async (key, value) => void run('INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)', key, value),
      insertRepo: async (r) => void run('INSERT INTO repos VALUES (?, ?, ?, ?, ?, ?)', r.name, r.private ? 1 : 0, r.mode, r.tolerance, r.createdMs, rowSum(repoFields(r))),
      updateRepo: async (r) => void run('UPDATE repos SET private = ?, mode = ?, tolerance = ?, crc = ? WHERE name = ?', r.private ? 1 : 0, r.mode, r.tolerance, rowSum(repoFields(r)), r.name),
      deleteRepo: async (name) => run('DELETE FROM repos WHERE name = ?', name).changes > 0,
      insertCommit: async (c, files) => {
        run('INSERT INTO commits VALUES (?, ?, ?, ?, ?, ?, ?, ?)', c.id, c.repo, c.parent, c.message, c.author, c.createdMs, JSON.stringify(c.baseModels), rowSum(commitFields(c)));
        const ins = this.statement('INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
        for (const f of files) ins.run(c.id, f.path, f.size, f.sha256, f.gitSha1, f.sourceSha256, f.lfs ? 1 : 0, f.kind, f.ref, f.member, rowSum(fileFields(c.id, f)));
      },
      setRef: async (r, expect) => {
        if (expect !== undefined) {
          const at = (await this.ref(r.repo, r.kind, r.name))?.commit ?? null;
          if (at !== expect) throw conflict(`${r.kind} '${r.name}' of '${r.repo}' is at ${at ?? 'nothing'}, not at ${expect ?? 'nothing'}`);
        }
        run('INSERT OR REPLACE INTO refs VALUES (?, ?, ?, ?, ?)', r.repo, r.kind, r.name, r.commit, rowSum(refFields(r)));
      },
      deleteRef: async (repo, kind, name) => run('DELETE FROM refs WHERE repo = ? AND kind = ? AND name = ?', repo, kind, name).changes > 0,
      insertModel: async (m) => void run('INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?, ?)', m.name, m.format, m.architecture, JSON.stringify(m.members), rowSum(modelFields(m))),
      insertToken: async (t) => void run('INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)', t.id, t.name, t.hash, t.scope, t.repoPattern, t.createdMs, rowSum(tokenFields(t))),
      deleteToken: async (idOrName) => run('DELETE FROM tokens WHERE id = ? OR name = ?', idOrName, idOrName).changes,
    };
  }
}

export type { RegistryTx } from './registry-store.js';

export function parseJson(path: string, table: string, key: string, v: unknown): unknown {
  try {
    return JSON.parse(String(v));
  } catch {
    throw new NeurStoreError('CORRUPTION', `registry ${path}: row ${key} of table ${table} holds malformed JSON`);
  }
}

/** The part of a store model's name that says how it was stored (see `hubModelName`). */
export const modeKey = (mode: Mode, tolerance: number): string => (mode === 'lossless' ? 'lossless' : `${mode}-${tolerance}`);
export const modelModeOf = (name: string): string => name.split('/')[2] ?? '';

/**
 * Of the file rows whose pushed bytes had one sha256 (fileBySource, every registry), the first a new commit can
 * reuse: a blob, or a model stored in `mode` at `tolerance` whose model row is still there.
 */
export async function firstOfSource(
  files: readonly FileRow[], mode: Mode, tolerance: number, model: (name: string) => Promise<HubModelRow | undefined>,
): Promise<FileRow | undefined> {
  for (const f of files) {
    if (f.kind === 'blob') return f;
    if ((await model(f.ref)) && modelModeOf(f.ref) === modeKey(mode, tolerance)) return f;
  }
  return undefined;
}
