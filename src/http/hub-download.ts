/**
 * The Hub's download and metadata API, as `@huggingface/hub`, transformers.js, huggingface_hub and curl use it:
 * `HEAD|GET /{repo}/resolve|raw/{rev}/{path}` (Range/206/416, ETag, X-Repo-Commit, X-Linked-Etag,
 * X-Linked-Size), `GET /api/models/{repo}[/revision/{rev}]`, `/tree/{rev}[/{path}]`, `POST /paths-info/{rev}`,
 * `/refs`, `/commits/{rev}`, `GET /api/models`, `GET /api/whoami-v2`. Files are answered directly (no
 * redirect); model files stream from the store as their tensors decode.
 */
import { createHash } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { posix } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { badRequest, checkFilePath, checkRepoId, entryNotFound, HubError } from '../registry/hub-names.js';
import type { CommitRow, FileRow, RepoRow } from '../registry/registry-db.js';
import { commitHistory } from '../registry/registry-store.js';
import { lfsPointer, type ByteRange } from '../registry/durable-files.js';
import { tokenAllows } from '../registry/tokens.js';
import type { Access } from './access.js';
import { answerOf, headerSafe } from './http-errors.js';
import { ResponseWriter } from './response-writer.js';
import { writeMember } from '../registry/hub-models.js';
import { NeurStoreError } from '../errors.js';

type Params = Record<string, string>;
const repoOf = (p: Params): string => checkRepoId(`${p.ns}/${p.name}`);
const iso = (ms: number): string => new Date(ms).toISOString();

/** The Hub's oid of a file: sha256 for LFS files, git's blob sha1 for the rest. */
export const etagOf = (f: FileRow): string => (f.lfs ? f.sha256 : f.gitSha1);

export function treeEntry(f: FileRow, last?: CommitRow): Record<string, unknown> {
  const pointer = lfsPointer(f.sha256, f.size);
  const entry: Record<string, unknown> = {
    type: 'file', oid: f.lfs ? createHash('sha1').update(`blob ${pointer.length}\0${pointer}`).digest('hex') : f.gitSha1, size: f.size, path: f.path,
  };
  if (f.lfs) entry.lfs = { oid: f.sha256, size: f.size, pointerSize: pointer.length };
  if (last) entry.lastCommit = { id: last.id, title: last.message.split('\n')[0], date: iso(last.createdMs) };
  return entry;
}

const dirEntry = (path: string, commit: string): Record<string, unknown> => ({
  type: 'directory', oid: createHash('sha1').update(`${commit}:${path}`).digest('hex'), size: 0, path,
});

/** `Range: bytes=a-b | a- | -n` against a size: the range, 'all' (no or an ignored header), or 'unsatisfiable'. */
export function parseRange(header: string | undefined, size: number): ByteRange | 'all' | 'unsatisfiable' {
  if (!header) return 'all';
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'all'; // several ranges or another unit: answered whole, as RFC 9110 allows
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

export async function modelInfo(reg: Registry, repo: RepoRow, commit: CommitRow, files: FileRow[]): Promise<Record<string, unknown>> {
  const first = (await reg.log(repo, commit.id, 100_000)).at(-1);
  return {
    _id: createHash('sha1').update(repo.name).digest('hex').slice(0, 24), id: repo.name, modelId: repo.name, author: repo.name.split('/')[0],
    sha: commit.id, lastModified: iso(commit.createdMs), createdAt: iso(first?.createdMs ?? repo.createdMs), private: repo.private, gated: false,
    disabled: false, downloads: 0, likes: 0, tags: [], pipeline_tag: null, library_name: null,
    cardData: commit.baseModels.length ? { base_model: commit.baseModels.length === 1 ? commit.baseModels[0] : commit.baseModels } : undefined,
    siblings: files.map((f) => {
      const e = treeEntry(f);
      return { rfilename: f.path, size: f.size, blobId: e.oid, ...(f.lfs ? { lfs: { sha256: f.sha256, size: f.size, pointerSize: (e.lfs as { pointerSize: number }).pointerSize } } : {}) };
    }),
    neurstore: { mode: repo.mode, tolerance: repo.tolerance },
  };
}

/** The commit, walking back from `commit`, that last changed `path` (at most 200 steps; else `commit`). */
async function lastChange(reg: Registry, commit: CommitRow, path: string): Promise<CommitRow> {
  const history = await commitHistory({ location: reg.db.location, commit: (id) => reg.commitRow(id) }, commit.id, 200);
  const sha = (await reg.fileAt(commit.id, path))?.sha256;
  let last = commit;
  for (const c of history.slice(1)) {
    if ((await reg.fileAt(c.id, path))?.sha256 !== sha) break;
    last = c;
  }
  return last;
}

/**
 * A model file (or a range of it) written onto the hijacked response as the store decodes it (response-writer.ts:
 * no copy of large chunks, backpressure per chunk). An error before the first byte is answered as any error is; a
 * later one cuts the connection (the client sees a short body, never wrong bytes); a client that goes away stops
 * the decoding.
 */
async function sendModelFile(req: FastifyRequest, reply: FastifyReply, reg: Registry, f: FileRow, range: ByteRange | undefined, length: number): Promise<void> {
  const model = await reg.modelOf(f.ref);
  const headers = reply.getHeaders() as OutgoingHttpHeaders;
  const status = reply.statusCode;
  reply.hijack();
  const raw = reply.raw;
  const stop = new AbortController();
  let onClose!: () => void;
  const closed = new Promise<never>((_resolve, reject) => {
    onClose = () => {
      stop.abort();
      reject(new Error('the client closed the connection'));
    };
  });
  closed.catch(() => undefined);
  raw.once('close', onClose);
  const out = new ResponseWriter(raw, status, headers, closed);
  try {
    await writeMember(reg.store, model, f.member, range, (chunk) => out.write(chunk), stop.signal);
    if (stop.signal.aborted) return;
    await out.flush();
    if (out.written !== length) throw new NeurStoreError('CORRUPTION', `model file '${f.path}' came out of the store as ${out.written} bytes, not ${length}`);
    await out.end();
  } catch (e) {
    if (stop.signal.aborted) return;
    if (!raw.headersSent) {
      const a = answerOf(e);
      if (a.status >= 500) req.log.error({ err: e }, 'request failed');
      const { 'content-length': _l, 'content-range': _r, etag: _e, 'x-linked-etag': _x, ...rest } = headers;
      raw.writeHead(a.status, { ...rest, 'content-type': 'application/json; charset=utf-8', 'x-error-code': a.code, 'x-error-message': headerSafe(a.message) });
      raw.end(JSON.stringify({ error: a.message }));
    } else {
      req.log.error({ err: e }, 'model file stream failed after its headers were sent');
      raw.destroy(e as Error);
    }
  } finally {
    raw.off('close', onClose);
  }
}

const truthy = (v: unknown): boolean => typeof v === 'string' ? /^(1|true|yes)$/i.test(v) : v === true;

export function downloadRoutes(app: FastifyInstance, reg: Registry, access: Access): void {
  const resolveFile = async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const repo = await access.readable(req, repoOf(req.params));
    const commit = await reg.resolve(repo, req.params.rev!);
    const path = checkFilePath(req.params['*']);
    const f = await reg.fileAt(commit.id, path);
    if (!f) throw entryNotFound(repo.name, path, commit.id);
    const etag = `"${etagOf(f)}"`;
    const base = posix.basename(path);
    reply.headers({
      'X-Repo-Commit': commit.id, ETag: etag, 'X-Linked-Etag': etag, 'X-Linked-Size': String(f.size), 'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream', 'Cache-Control': 'private, max-age=0, must-revalidate',
      'Content-Disposition': `inline; filename*=UTF-8''${encodeURIComponent(base)}; filename="${base.replace(/[^\x20-\x7e]|"/g, '_')}"`,
    });
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    const range = parseRange(req.headers.range, f.size);
    if (range === 'unsatisfiable') {
      if (f.size === 0) return reply.code(200).header('Content-Range', 'bytes */0').header('Content-Length', '0').send('');
      reply.header('Content-Range', `bytes */${f.size}`);
      throw new HubError('INVALID_ARGUMENT', 'RangeNotSatisfiable', `range ${req.headers.range} is outside the file (${f.size} bytes)`);
    }
    const length = range === 'all' ? f.size : range.end - range.start + 1;
    reply.header('Content-Length', String(length));
    if (range !== 'all') reply.code(206).header('Content-Range', `bytes ${range.start}-${range.end}/${f.size}`);
    if (req.method === 'HEAD') return reply.send();
    if (f.kind === 'model') return sendModelFile(req, reply, reg, f, range === 'all' ? undefined : range, length);
    return reply.send(await reg.openFile(f, range === 'all' ? undefined : range));
  };
  for (const kind of ['resolve', 'raw']) {
    const url = `/:ns/:name/${kind}/:rev/*`;
    app.route({ method: 'GET', url, exposeHeadRoute: false, handler: resolveFile });
    app.route({ method: 'HEAD', url, handler: resolveFile });
  }

  const info = async (req: FastifyRequest<{ Params: Params }>) => {
    const repo = await access.readable(req, repoOf(req.params));
    const commit = await reg.resolve(repo, req.params.rev ?? 'main');
    return modelInfo(reg, repo, commit, await reg.files(commit));
  };
  app.get('/api/models/:ns/:name', info);
  app.get('/api/models/:ns/:name/revision/:rev', info);

  const tree = async (req: FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>) => {
    const repo = await access.readable(req, repoOf(req.params));
    const commit = await reg.resolve(repo, req.params.rev!);
    const prefix = req.params['*'] ? checkFilePath(req.params['*'].replace(/\/+$/, '')) : '';
    const recursive = truthy(req.query.recursive);
    const expand = truthy(req.query.expand);
    const files = (await reg.files(commit)).filter((f) => !prefix || f.path.startsWith(`${prefix}/`));
    if (prefix && files.length === 0) throw entryNotFound(repo.name, prefix, commit.id);
    const out = new Map<string, Record<string, unknown>>();
    for (const f of files) {
      const rest = prefix ? f.path.slice(prefix.length + 1) : f.path;
      const parts = rest.split('/');
      const depth = recursive ? parts.length : 1;
      for (let i = 1; i < Math.min(depth, parts.length); i++) {
        const d = [prefix, ...parts.slice(0, i)].filter(Boolean).join('/');
        if (!out.has(d)) out.set(d, dirEntry(d, commit.id));
      }
      if (parts.length === 1 || recursive) out.set(f.path, treeEntry(f, expand ? await lastChange(reg, commit, f.path) : undefined));
      else {
        const d = [prefix, parts[0]].filter(Boolean).join('/');
        if (!out.has(d)) out.set(d, dirEntry(d, commit.id));
      }
    }
    return [...out.values()];
  };
  app.get('/api/models/:ns/:name/tree/:rev', tree);
  app.get('/api/models/:ns/:name/tree/:rev/*', tree);

  app.post('/api/models/:ns/:name/paths-info/:rev', async (req: FastifyRequest<{ Params: Params; Body: unknown }>) => {
    const repo = await access.readable(req, repoOf(req.params));
    const commit = await reg.resolve(repo, req.params.rev!);
    const body = (req.body ?? {}) as { paths?: unknown; expand?: unknown };
    const paths = typeof body.paths === 'string' ? [body.paths] : body.paths;
    if (!Array.isArray(paths) || paths.length > 10_000) throw badRequest('paths-info needs "paths": a list of at most 10000 file paths');
    const files = await reg.files(commit);
    const out: Array<Record<string, unknown>> = [];
    for (const p of paths) {
      const path = checkFilePath(String(p).replace(/\/+$/, ''));
      const f = files.find((x) => x.path === path);
      if (f) out.push(treeEntry(f, truthy(body.expand) ? await lastChange(reg, commit, path) : undefined));
      else if (files.some((x) => x.path.startsWith(`${path}/`))) out.push(dirEntry(path, commit.id));
    }
    return out;
  });

  app.get('/api/models/:ns/:name/refs', async (req: FastifyRequest<{ Params: Params }>) => {
    const repo = await access.readable(req, repoOf(req.params));
    const refs = await reg.refs(repo.name);
    const shape = (kind: 'branch' | 'tag') => refs.filter((r) => r.kind === kind).map((r) => ({ name: r.name, ref: `refs/${kind === 'branch' ? 'heads' : 'tags'}/${r.name}`, targetCommit: r.commit }));
    return { branches: shape('branch'), tags: shape('tag'), converts: [] };
  });

  app.get('/api/models/:ns/:name/commits/:rev', async (req: FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>) => {
    const repo = await access.readable(req, repoOf(req.params));
    const limit = Math.min(Math.max(Number(req.query.limit ?? 1000) || 1000, 1), 10_000);
    return (await reg.log(repo.name, req.params.rev!, limit)).map((c) => ({
      id: c.id, title: c.message.split('\n')[0], message: c.message, authors: [{ user: c.author }], date: iso(c.createdMs), parents: c.parent ? [c.parent] : [],
    }));
  });

  app.get('/api/models', async (req: FastifyRequest<{ Querystring: Record<string, string> }>) => {
    const token = await access.token(req);
    const search = req.query.search ?? '';
    const author = req.query.author;
    const shown = (await reg.repos())
      .filter((r) => (token && tokenAllows(token, r.name, 'read')) || (!r.private && access.anonymousReads))
      .filter((r) => r.name.includes(search) && (!author || r.name.startsWith(`${author}/`)));
    return Promise.all(shown.map(async (r) => {
        const head = await reg.resolve(r.name);
        return { _id: createHash('sha1').update(r.name).digest('hex').slice(0, 24), id: r.name, modelId: r.name, private: r.private, downloads: 0, likes: 0, gated: false, lastModified: iso(head.createdMs), sha: head.id, tags: [] };
      }));
  });

  app.get('/api/whoami-v2', async (req) => {
    const token = await access.token(req);
    if (!token) throw new HubError('INVALID_ARGUMENT', 'Unauthorized', 'whoami needs a token (Authorization: Bearer hf_...)');
    const ns = token.repoPattern.split('/')[0]!;
    return {
      type: 'user', id: token.id, name: token.name, fullname: token.name, email: null, emailVerified: false, canPay: false, isPro: false,
      orgs: ns !== '*' && !ns.includes('*') ? [{ name: ns, fullname: ns, type: 'org', roleInOrg: token.scope === 'write' ? 'write' : 'read' }] : [],
      auth: { type: 'access_token', accessToken: { displayName: token.name, role: token.scope, createdAt: iso(token.createdMs) } },
    };
  });
}
