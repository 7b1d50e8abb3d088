/**
 * The registry's metadata and blobs in a PostgreSQL store (tables in postgres-hub-schema.ts), shared by every
 * `neurstore serve` over the database. Reads use a pool and see what is committed. A write is one transaction on
 * a pooled connection that first takes the hub's transaction-level advisory lock, so writes from any number of
 * servers run one at a time and each sees the last one's commit (the SQLite registry's `BEGIN IMMEDIATE`); a
 * branch moves by compare-and-set inside it (an UPDATE on the head it read), so a commit based on a head that
 * moved meanwhile is CONFLICT, never a lost commit. Rows carry the same CRC-32 as registry.sqlite's.
 */
import type pg from 'pg';
import { NeurStoreError, conflict } from '../../errors.js';
import { DEFAULT_TIMEOUTS, connectClient, endClient, newPool, pgError, poolClient, redactUrl } from '../../backend/postgres/postgres-connect.js';
import { LOCK_SPACE } from '../../backend/postgres/postgres-schema.js';
import type { Mode } from '../../store/store-types.js';
import {
  commitFields, fileFields, firstOfSource, modelFields, parseJson, refFields, repoFields, rowSum, tokenFields,
  type CommitRow, type FileRow, type HubModelRow, type ModelMember, type RefRow, type RepoRow, type TokenRow,
} from '../registry-db.js';
import type { RegistryReads, RegistryStore, RegistryTx } from '../registry-store.js';
import { PostgresBlobs } from './postgres-blobs.js';
import { HUB_WRITE_LOCK, prepareHubSchema } from './postgres-hub-schema.js';
import { PostgresUploads } from './postgres-uploads.js';

type Raw = Record<string, unknown>;
type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

/** Opens the hub of the PostgreSQL store at `url` (whose store schema exists): its metadata and its blobs. */
export async function openPostgresRegistry(url: string, readOnly: boolean): Promise<{ db: PostgresRegistryStore; blobs: PostgresBlobs; uploads: PostgresUploads }> {
  const location = redactUrl(url);
  const client = await connectClient(url, DEFAULT_TIMEOUTS, readOnly, location);
  try {
    await prepareHubSchema(client, location, readOnly);
  } finally {
    await endClient(client);
  }
  const pool = newPool(url, DEFAULT_TIMEOUTS, readOnly, 4);
  // Blob reads and upload PUTs stream page by page and may hold a connection while a slow client sends or
  // reads: a pool of their own, so metadata reads and commits never wait behind them.
  const bytesPool = newPool(url, DEFAULT_TIMEOUTS, readOnly, 4);
  return {
    db: new PostgresRegistryStore(pool, location, readOnly, [bytesPool]),
    blobs: new PostgresBlobs(bytesPool, location),
    uploads: new PostgresUploads(bytesPool, location),
  };
}

/** Reads over one queryable (the pool, or a write's connection). */
class PgReads implements RegistryReads {
  constructor(protected readonly q: Queryable, readonly location: string) {}

  protected async all(sql: string, ...args: unknown[]): Promise<Raw[]> {
    try {
      return (await this.q.query(sql, args)).rows as Raw[];
    } catch (e) {
      throw pgError(e, this.location, 'read from the hub in');
    }
  }

  private check(table: string, key: string, fields: unknown[], crc: unknown): void {
    if (rowSum(fields) !== Number(crc)) {
      throw new NeurStoreError('CORRUPTION', `hub of ${this.location}: row ${key} of table ${table} fails its checksum (the database was damaged); restore it from a backup`);
    }
  }

  async meta(key: string): Promise<string | undefined> {
    return (await this.all('SELECT value FROM hub_meta WHERE key = $1', key))[0]?.value as string | undefined;
  }

  async repo(name: string): Promise<RepoRow | undefined> {
    const r = (await this.all('SELECT * FROM hub_repos WHERE name = $1', name))[0];
    return r && this.toRepo(r);
  }

  async repos(): Promise<RepoRow[]> {
    return (await this.all('SELECT * FROM hub_repos ORDER BY name')).map((r) => this.toRepo(r));
  }

  private toRepo(r: Raw): RepoRow {
    const row: RepoRow = { name: r.name as string, private: r.private as boolean, mode: r.mode as Mode, tolerance: Number(r.tolerance), createdMs: Number(r.created_ms) };
    this.check('hub_repos', row.name, repoFields(row), r.crc);
    return row;
  }

  async commit(id: string): Promise<CommitRow | undefined> {
    const r = (await this.all('SELECT * FROM hub_commits WHERE id = $1', id))[0];
    return r && this.toCommit(r);
  }

  private toCommit(r: Raw): CommitRow {
    const row: CommitRow = {
      id: r.id as string, repo: r.repo as string, parent: (r.parent as string | null) ?? null, message: r.message as string,
      author: r.author as string, createdMs: Number(r.created_ms), baseModels: parseJson(this.location, 'hub_commits', r.id as string, r.base_models) as string[],
    };
    this.check('hub_commits', row.id, commitFields(row), r.crc);
    return row;
  }

  async files(commit: string): Promise<FileRow[]> {
    return (await this.all('SELECT * FROM hub_files WHERE commit_id = $1 ORDER BY path COLLATE "C"', commit)).map((r) => this.toFile(commit, r));
  }

  async file(commit: string, path: string): Promise<FileRow | undefined> {
    const r = (await this.all('SELECT * FROM hub_files WHERE commit_id = $1 AND path = $2', commit, path))[0];
    return r && this.toFile(commit, r);
  }

  async fileBySource(sha256: string, mode: Mode, tolerance: number): Promise<FileRow | undefined> {
    const rows = await this.all(
      'SELECT f.* FROM hub_files f JOIN hub_commits c ON c.id = f.commit_id JOIN hub_repos r ON r.name = c.repo WHERE f.source_sha256 = $1 LIMIT 50', sha256);
    return firstOfSource(rows.map((r) => this.toFile(r.commit_id as string, r)), mode, tolerance, (name) => this.model(name));
  }

  async commitsWithModel(model: string): Promise<Array<{ repo: string; commit: string; path: string }>> {
    return (await this.all('SELECT c.repo, f.commit_id, f.path FROM hub_files f JOIN hub_commits c ON c.id = f.commit_id WHERE f.ref = $1 AND f.kind = $2', model, 'model'))
      .map((r) => ({ repo: r.repo as string, commit: r.commit_id as string, path: r.path as string }));
  }

  private toFile(commit: string, r: Raw): FileRow {
    const row: FileRow = {
      path: r.path as string, size: Number(r.size), sha256: r.sha256 as string, gitSha1: r.git_sha1 as string, sourceSha256: r.source_sha256 as string,
      lfs: r.lfs as boolean, kind: r.kind as FileRow['kind'], ref: r.ref as string, member: r.member as string,
    };
    this.check('hub_files', `${commit}:${row.path}`, fileFields(commit, row), r.crc);
    return row;
  }

  async refs(repo: string): Promise<RefRow[]> {
    return (await this.all('SELECT * FROM hub_refs WHERE repo = $1 ORDER BY kind COLLATE "C", name COLLATE "C"', repo)).map((r) => this.toRef(r));
  }

  async ref(repo: string, kind: RefRow['kind'], name: string): Promise<RefRow | undefined> {
    const r = (await this.all('SELECT * FROM hub_refs WHERE repo = $1 AND kind = $2 AND name = $3', repo, kind, name))[0];
    return r && this.toRef(r);
  }

  private toRef(r: Raw): RefRow {
    const row: RefRow = { repo: r.repo as string, kind: r.kind as RefRow['kind'], name: r.name as string, commit: r.commit_id as string };
    this.check('hub_refs', `${row.repo}:${row.kind}:${row.name}`, refFields(row), r.crc);
    return row;
  }

  async model(name: string): Promise<HubModelRow | undefined> {
    const r = (await this.all('SELECT * FROM hub_models WHERE name = $1', name))[0];
    if (!r) return undefined;
    const row: HubModelRow = { name: r.name as string, format: r.format as string, architecture: r.architecture as string, members: parseJson(this.location, 'hub_models', r.name as string, r.members) as ModelMember[] };
    this.check('hub_models', row.name, modelFields(row), r.crc);
    return row;
  }

  async tokenByHash(hash: string): Promise<TokenRow | undefined> {
    const r = (await this.all('SELECT * FROM hub_tokens WHERE hash = $1', hash))[0];
    return r && this.toToken(r);
  }

  async tokens(): Promise<TokenRow[]> {
    return (await this.all('SELECT * FROM hub_tokens ORDER BY created_ms, id')).map((r) => this.toToken(r));
  }

  private toToken(r: Raw): TokenRow {
    const row: TokenRow = { id: r.id as string, name: r.name as string, hash: r.hash as string, scope: r.scope as TokenRow['scope'], repoPattern: r.repo_pattern as string, createdMs: Number(r.created_ms) };
    this.check('hub_tokens', row.id, tokenFields(row), r.crc);
    return row;
  }
}

export class PostgresRegistryStore extends PgReads implements RegistryStore {
  private closed = false;

  constructor(private readonly pool: pg.Pool, location: string, readonly readOnly: boolean, private readonly others: pg.Pool[] = []) {
    super(pool, location);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of [this.pool, ...this.others]) await p.end().catch(() => undefined);
  }

  async write<T>(fn: (tx: RegistryTx) => Promise<T>): Promise<T> {
    if (this.readOnly) throw conflict(`the hub of ${this.location} is open read-only`);
    const client = await poolClient(this.pool, this.location);
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_SPACE, HUB_WRITE_LOCK]);
      const out = await fn(this.tx(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => { broken = true; });
      throw pgError(e, this.location, 'write to the hub in');
    } finally {
      client.release(broken);
    }
  }

  private tx(client: pg.PoolClient): RegistryTx {
    const reads = new PgReads(client, this.location);
    const run = async (sql: string, ...args: unknown[]): Promise<number> => (await client.query(sql, args)).rowCount ?? 0;
    return {
      db: reads,
      setMeta: async (key, value) => void await run('INSERT INTO hub_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value', key, value),
      insertRepo: async (r) => void await run('INSERT INTO hub_repos VALUES ($1, $2, $3, $4, $5, $6)', r.name, r.private, r.mode, r.tolerance, r.createdMs, rowSum(repoFields(r))),
      updateRepo: async (r) => void await run('UPDATE hub_repos SET private = $1, mode = $2, tolerance = $3, crc = $4 WHERE name = $5', r.private, r.mode, r.tolerance, rowSum(repoFields(r)), r.name),
      deleteRepo: async (name) => (await run('DELETE FROM hub_repos WHERE name = $1', name)) > 0,
      insertCommit: async (c, files) => {
        await run('INSERT INTO hub_commits VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', c.id, c.repo, c.parent, c.message, c.author, c.createdMs, JSON.stringify(c.baseModels), rowSum(commitFields(c)));
        for (let i = 0; i < files.length; i += 500) {
          const part = files.slice(i, i + 500);
          const values: unknown[] = [];
          const rows = part.map((f, j) => {
            values.push(c.id, f.path, f.size, f.sha256, f.gitSha1, f.sourceSha256, f.lfs, f.kind, f.ref, f.member, rowSum(fileFields(c.id, f)));
            return `(${Array.from({ length: 11 }, (_, k) => `$${j * 11 + k + 1}`).join(', ')})`;
          });
          await run(`INSERT INTO hub_files VALUES ${rows.join(', ')}`, ...values);
        }
      },
      setRef: async (r, expect) => {
        const crc = rowSum(refFields(r));
        if (expect === undefined) {
          await run(`INSERT INTO hub_refs VALUES ($1, $2, $3, $4, $5) ON CONFLICT (repo, kind, name) DO UPDATE SET commit_id = EXCLUDED.commit_id, crc = EXCLUDED.crc`, r.repo, r.kind, r.name, r.commit, crc);
          return;
        }
        const n = expect === null
          ? await run('INSERT INTO hub_refs VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', r.repo, r.kind, r.name, r.commit, crc)
          : await run('UPDATE hub_refs SET commit_id = $4, crc = $5 WHERE repo = $1 AND kind = $2 AND name = $3 AND commit_id = $6', r.repo, r.kind, r.name, r.commit, crc, expect);
        if (n !== 1) throw conflict(`${r.kind} '${r.name}' of '${r.repo}' moved: it is no longer at ${expect ?? 'nothing'}; try again`);
      },
      deleteRef: async (repo, kind, name) => (await run('DELETE FROM hub_refs WHERE repo = $1 AND kind = $2 AND name = $3', repo, kind, name)) > 0,
      insertModel: async (m) => void await run('INSERT INTO hub_models VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING', m.name, m.format, m.architecture, JSON.stringify(m.members), rowSum(modelFields(m))),
      insertToken: async (t) => void await run('INSERT INTO hub_tokens VALUES ($1, $2, $3, $4, $5, $6, $7)', t.id, t.name, t.hash, t.scope, t.repoPattern, t.createdMs, rowSum(tokenFields(t))),
      deleteToken: async (idOrName) => run('DELETE FROM hub_tokens WHERE id = $1 OR name = $1', idOrName),
    };
  }
}
