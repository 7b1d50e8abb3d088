/**
 * The Hub's upload API as `@huggingface/hub` (and huggingface_hub with HF_HUB_DISABLE_XET=1) uses it: create a
 * repository, preupload (which files go through LFS), the LFS batch call (answered with signed upload URLs:
 * neither client sends its token on the PUT), the PUT itself (streamed while hashed into the store's uploads
 * in flight, registry/uploads.ts, which every server on the store sees; the sha256 and size must match the object), and the NDJSON commit, whose `lfsFile` lines name uploaded objects and whose
 * `file` lines carry small files inline in base64.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CommitOp, Registry } from '../registry/registry.js';
import { LFS_THRESHOLD } from '../registry/registry.js';
import { HubError, badRequest, checkRepoId } from '../registry/hub-names.js';
import type { Access } from './access.js';

type Params = Record<string, string>;
const UPLOAD_URL_SECONDS = 3600;

export interface UploadLimits {
  /** Largest file one PUT may upload (default 20 GiB). */
  maxUploadBytes: number;
  /** Largest NDJSON commit body (inline base64 files included; default 256 MiB). */
  maxCommitBytes: number;
}

/** The public base URL of the server as the client reached it (or as configured). */
export type BaseUrl = (req: FastifyRequest) => string;

export function uploadRoutes(app: FastifyInstance, reg: Registry, access: Access, limits: UploadLimits, baseUrl: BaseUrl): void {
  const sign = async (oid: string, size: number, exp: number, repo: string) =>
    createHmac('sha256', await reg.secret('upload')).update(`${oid}:${size}:${exp}:${repo}`).digest('hex');

  app.post('/api/repos/create', async (req: FastifyRequest<{ Body: Record<string, unknown> }>, reply) => {
    const b = req.body ?? {};
    if (b.type !== undefined && b.type !== 'model') throw new HubError('NOT_SUPPORTED', 'BadRequest', `this hub holds model repositories only, not ${String(b.type)}s`);
    const token = await access.token(req);
    const name = String(b.name ?? '');
    const repo = checkRepoId(name.includes('/') ? name : `${String(b.organization ?? token?.name ?? '')}/${name}`);
    await access.writer(req, repo);
    const url = `${baseUrl(req)}/${repo}`;
    if (await reg.db.repo(repo)) return reply.code(409).header('X-Error-Code', 'RepoExists').header('X-Error-Message', 'You already created this model repo').send({ error: 'You already created this model repo', url });
    await reg.createRepo(repo, { private: b.private === true || b.visibility === 'private', author: token!.name });
    if (Array.isArray(b.files) && b.files.length) {
      const ops: CommitOp[] = (b.files as Array<{ path: string; content: string }>).map((f) => ({ op: 'put', path: String(f.path), bytes: Buffer.from(String(f.content), 'base64') }));
      await reg.commit(repo, ops, { message: 'initial files', author: token!.name });
    }
    return { url, name: repo, id: repo };
  });

  app.delete('/api/repos/delete', async (req: FastifyRequest<{ Body: Record<string, unknown> }>) => {
    const b = req.body ?? {};
    const name = String(b.name ?? '');
    const repo = checkRepoId(name.includes('/') ? name : `${String(b.organization ?? '')}/${name}`);
    await access.writer(req, repo);
    await reg.deleteRepo(repo);
    return {};
  });

  app.put('/api/repos/:ns/:name/settings', async (req: FastifyRequest<{ Params: Params; Body: Record<string, unknown> }>) => {
    const repo = checkRepoId(`${req.params.ns}/${req.params.name}`);
    await access.writer(req, repo);
    const b = req.body ?? {};
    const r = await reg.updateRepo(repo, { private: typeof b.private === 'boolean' ? b.private : b.visibility === undefined ? undefined : b.visibility === 'private' });
    return { private: r.private };
  });

  app.post('/api/models/:ns/:name/preupload/:rev', async (req: FastifyRequest<{ Params: Params; Body: { files?: unknown } }>) => {
    const repo = checkRepoId(`${req.params.ns}/${req.params.name}`);
    await access.writer(req, repo);
    await reg.repo(repo);
    const files = req.body?.files;
    if (!Array.isArray(files)) throw badRequest('preupload needs "files": [{path, size, sample}]');
    return {
      files: files.map((f: { path?: unknown; size?: unknown; sample?: unknown }) => {
        const size = Number(f.size);
        const sample = Buffer.from(String(f.sample ?? ''), 'base64');
        return { path: String(f.path), uploadMode: size > LFS_THRESHOLD || sample.includes(0) ? 'lfs' : 'regular', shouldIgnore: false, oid: null };
      }),
    };
  });

  app.post('/:ns/:repoGit/info/lfs/objects/batch', async (req: FastifyRequest<{ Params: Params; Body: Record<string, unknown> }>, reply) => {
    if (!req.params.repoGit!.endsWith('.git')) throw badRequest('the LFS endpoint is /{namespace}/{name}.git/info/lfs/objects/batch');
    const repo = checkRepoId(`${req.params.ns}/${req.params.repoGit!.slice(0, -4)}`);
    const b = req.body ?? {};
    if (b.operation !== 'upload') throw new HubError('NOT_SUPPORTED', 'BadRequest', `LFS operation '${String(b.operation)}' is not supported here: download files through /resolve`);
    await access.writer(req, repo);
    const row = await reg.repo(repo);
    if (!Array.isArray(b.objects) || b.objects.length > 10_000) throw badRequest('the LFS batch needs "objects": [{oid, size}] (at most 10000)');
    const exp = Math.floor(Date.now() / 1000) + UPLOAD_URL_SECONDS;
    const objects = [];
    for (const o of b.objects as Array<{ oid?: unknown; size?: unknown }>) {
      const oid = String(o.oid);
      const size = Number(o.size);
      if (!/^[0-9a-f]{64}$/.test(oid) || !Number.isSafeInteger(size) || size < 0) {
        objects.push({ oid, size: o.size, error: { code: 422, message: 'oid must be a sha256 (64 lowercase hex) and size a non-negative integer' } });
      } else if (size > limits.maxUploadBytes) {
        objects.push({ oid, size, error: { code: 413, message: `the object is ${size} bytes; this server takes at most ${limits.maxUploadBytes}` } });
      } else if ((await reg.uploads.has(oid)) || (await reg.db.fileBySource(oid, row.mode, row.tolerance))) {
        objects.push({ oid, size });
      } else {
        const sig = await sign(oid, size, exp, repo);
        const href = `${baseUrl(req)}/api/neurstore/lfs-upload/${oid}?size=${size}&exp=${exp}&repo=${encodeURIComponent(repo)}&sig=${sig}`;
        objects.push({ oid, size, authenticated: true, actions: { upload: { href, expires_in: UPLOAD_URL_SECONDS } } });
      }
    }
    return reply.type('application/vnd.git-lfs+json').send({ transfer: 'basic', objects });
  });

  // The PUT of an upload URL: any content type, the body streamed to disk while hashed, never parsed.
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, _payload, done) => done(null));
    raw.put('/api/neurstore/lfs-upload/:oid', async (req: FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>) => {
      const oid = req.params.oid!;
      const size = Number(req.query.size);
      const exp = Number(req.query.exp);
      const repo = String(req.query.repo ?? '');
      const expected = /^[0-9a-f]{64}$/.test(oid) && Number.isSafeInteger(size) ? await sign(oid, size, exp, repo) : '';
      const given = Buffer.from(String(req.query.sig ?? ''));
      if (!expected || given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected))) {
        throw new HubError('NOT_FOUND', 'Forbidden', 'the upload URL is not valid (ask the LFS batch endpoint for a new one)');
      }
      if (exp * 1000 < Date.now()) throw new HubError('NOT_FOUND', 'Forbidden', 'the upload URL has expired (ask the LFS batch endpoint for a new one)');
      const declared = req.headers['content-length'];
      if (declared !== undefined && Number(declared) !== size) throw badRequest(`the body is ${declared} bytes; object ${oid} is ${size}`);
      await reg.uploads.put(oid, size, req.raw);
      return {};
    });
  });

  app.post('/api/models/:ns/:name/commit/:rev', { bodyLimit: limits.maxCommitBytes }, async (req: FastifyRequest<{ Params: Params; Body: unknown }>) => {
    const repo = checkRepoId(`${req.params.ns}/${req.params.name}`);
    const token = await access.writer(req, repo);
    await reg.repo(repo);
    const lines = typeof req.body === 'string' ? req.body.split('\n').filter((l) => l.trim()) : Array.isArray(req.body) ? (req.body as unknown[]).map((x) => JSON.stringify(x)) : [];
    let header: { summary?: string; description?: string; parentCommit?: string } = {};
    const ops: CommitOp[] = [];
    for (const [i, line] of lines.entries()) {
      let item: { key?: string; value?: Record<string, unknown> };
      try {
        item = JSON.parse(line) as typeof item;
      } catch {
        throw badRequest(`commit line ${i + 1} is not JSON`);
      }
      const v = item.value ?? {};
      switch (item.key) {
        case 'header': header = v as typeof header; break;
        case 'file':
          if (v.encoding !== undefined && v.encoding !== 'base64') throw badRequest(`commit line ${i + 1}: encoding '${String(v.encoding)}' is not base64`);
          ops.push({ op: 'put', path: String(v.path), bytes: Buffer.from(String(v.content ?? ''), 'base64') });
          break;
        case 'lfsFile':
          if (v.algo !== undefined && v.algo !== 'sha256') throw badRequest(`commit line ${i + 1}: LFS algorithm '${String(v.algo)}' is not sha256`);
          if (!/^[0-9a-f]{64}$/.test(String(v.oid))) throw badRequest(`commit line ${i + 1}: oid must be a sha256`);
          ops.push({ op: 'put', path: String(v.path), upload: String(v.oid), size: v.size === undefined ? undefined : Number(v.size) });
          break;
        case 'deletedFile': ops.push({ op: 'delete', path: String(v.path) }); break;
        case 'deletedFolder': ops.push({ op: 'deleteFolder', path: String(v.path) }); break;
        default: throw badRequest(`commit line ${i + 1}: unknown key '${String(item.key)}' (header, file, lfsFile, deletedFile, deletedFolder)`);
      }
    }
    const r = await reg.commit(repo, ops, {
      branch: req.params.rev === 'HEAD' ? 'main' : req.params.rev, message: header.summary ?? 'update', description: header.description,
      parentCommit: header.parentCommit, author: token.name,
    });
    return { success: true, commitOid: r.commit.id, commitUrl: `${baseUrl(req)}/${repo}/commit/${r.commit.id}`, pullRequestUrl: null, hookOutput: '' };
  });

  app.post('/api/models/:ns/:name/branch/:branch', async (req: FastifyRequest<{ Params: Params; Body: { startingPoint?: string } | undefined }>) => {
    const repo = checkRepoId(`${req.params.ns}/${req.params.name}`);
    await access.writer(req, repo);
    await reg.createBranch(repo, req.params.branch!, req.body?.startingPoint);
    return {};
  });

  app.post('/api/validate-yaml', async () => ({ errors: [], warnings: [] }));
}
