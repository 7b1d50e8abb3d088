/**
 * NeurStore's own JSON API, for what the Hub has no word for: store statistics, how each tensor of a
 * repository's model files is stored, and lineage. Described in OpenAPI 3.1 at `GET /api/neurstore/openapi.json`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { checkFilePath, checkRepoId, entryNotFound } from '../registry/hub-names.js';
import { lineageGraph, lineageOf } from '../registry/lineage.js';
import { recordKeyJson } from '../store/json-keys.js';
import type { Access } from './access.js';

type Params = Record<string, string>;

export function nativeRoutes(app: FastifyInstance, reg: Registry, access: Access): void {
  app.get('/api/neurstore/stats', async (req) => {
    const repos = await reg.repos();
    const readable: typeof repos = [];
    for (const r of repos) {
      try {
        await access.readable(req, r.name);
        readable.push(r);
      } catch {
        // not this caller's
      }
    }
    if (readable.length === 0 && repos.length > 0) await access.readable(req, repos[0]!.name); // no access at all: the usual 401/404
    return { repositories: repos.length, store: await reg.store.stats() };
  });

  app.get('/api/neurstore/models/:ns/:name/tensors', async (req: FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>) => {
    const repo = await access.readable(req, checkRepoId(`${req.params.ns}/${req.params.name}`));
    const commit = await reg.resolve(repo.name, req.query.revision ?? 'main');
    const only = req.query.path === undefined ? undefined : checkFilePath(req.query.path);
    const files = (await reg.files(commit)).filter((f) => f.kind === 'model' && (only === undefined || f.path === only));
    if (only !== undefined && files.length === 0) throw entryNotFound(repo.name, only, commit.id);
    const seen = new Set<string>();
    const models = [];
    for (const f of files) {
      if (seen.has(f.ref)) continue;
      seen.add(f.ref);
      const m = await reg.store.info(f.ref);
      models.push({
        files: files.filter((x) => x.ref === f.ref).map((x) => x.path), format: m.format, mode: m.mode, tolerance: m.tolerance,
        bytesIn: m.bytesIn, storedBytes: m.storedBytes, maxError: m.maxError,
        tensors: m.tensors.map((t) => ({ ...t, recordKey: recordKeyJson(t.recordKey, 'hex'), baseKey: recordKeyJson(t.baseKey, 'hex') })),
      });
    }
    return { repo: repo.name, commit: commit.id, models };
  });

  app.get('/api/neurstore/models/:ns/:name/lineage', async (req: FastifyRequest<{ Params: Params }>) => {
    const repo = await access.readable(req, checkRepoId(`${req.params.ns}/${req.params.name}`));
    const g = lineageOf(await lineageGraph(reg), repo.name);
    // Repositories the caller may not read are left out, with their edges.
    const visible = async (name: string): Promise<boolean> => {
      if (!(await reg.db.repo(name))) return true; // a card's base_model outside this hub
      try {
        await access.readable(req, name);
        return true;
      } catch {
        return false;
      }
    };
    const seen = new Map<string, boolean>();
    for (const name of [...g.repos, ...g.edges.flatMap((e) => [e.base, e.child])]) if (!seen.has(name)) seen.set(name, await visible(name));
    return { repos: g.repos.filter((r) => seen.get(r)), edges: g.edges.filter((e) => seen.get(e.base) && seen.get(e.child)) };
  });

  app.get('/api/neurstore/openapi.json', async () => OPENAPI);
}

const json = { 'application/json': { schema: { type: 'object' } } };
const ok = (description: string) => ({ 200: { description, content: json }, default: { description: 'an error: X-Error-Code header, {"error": message}' } });
const repoParams = [
  { name: 'namespace', in: 'path', required: true, schema: { type: 'string' } },
  { name: 'name', in: 'path', required: true, schema: { type: 'string' } },
];
const rev = { name: 'rev', in: 'path', required: true, schema: { type: 'string' }, description: 'branch, tag, 40-hex commit id, or HEAD' };

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'NeurStore hub', version: '1', description: 'The Hugging Face Hub API subset NeurStore serves, and NeurStore\'s own API. Errors carry X-Error-Code and X-Error-Message headers.' },
  components: { securitySchemes: { token: { type: 'http', scheme: 'bearer', description: 'hf_... token from `neurstore token create`' } } },
  security: [{ token: [] }, {}],
  paths: {
    '/{namespace}/{name}/resolve/{rev}/{path}': {
      get: { summary: 'a file (Range supported: 206, 416)', parameters: [...repoParams, rev, { name: 'path', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'the bytes; X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size' }, 206: { description: 'a range' }, 416: { description: 'range outside the file' } } },
      head: { summary: 'a file\'s headers', parameters: [...repoParams, rev, { name: 'path', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'headers only' } } },
    },
    '/api/models/{namespace}/{name}': { get: { summary: 'repository info at the default branch (sha, siblings)', parameters: repoParams, responses: ok('model info') } },
    '/api/models/{namespace}/{name}/revision/{rev}': { get: { summary: 'repository info at a revision', parameters: [...repoParams, rev], responses: ok('model info') } },
    '/api/models/{namespace}/{name}/tree/{rev}/{path}': { get: { summary: 'files and directories (recursive=, expand=)', parameters: [...repoParams, rev], responses: ok('tree entries') } },
    '/api/models/{namespace}/{name}/paths-info/{rev}': { post: { summary: 'entries of the given paths (JSON or form body)', parameters: [...repoParams, rev], responses: ok('tree entries') } },
    '/api/models/{namespace}/{name}/refs': { get: { summary: 'branches and tags', parameters: repoParams, responses: ok('refs') } },
    '/api/models/{namespace}/{name}/commits/{rev}': { get: { summary: 'commits, newest first', parameters: [...repoParams, rev], responses: ok('commits') } },
    '/api/models': { get: { summary: 'repositories the caller can read (search=, author=)', responses: ok('list') } },
    '/api/whoami-v2': { get: { summary: 'the token\'s name and role', responses: ok('who') } },
    '/api/repos/create': { post: { summary: 'create a repository (409 with url when it exists)', responses: ok('url, name, id') } },
    '/api/repos/delete': { delete: { summary: 'delete a repository', responses: ok('{}') } },
    '/api/models/{namespace}/{name}/preupload/{rev}': { post: { summary: 'which files go through LFS', parameters: [...repoParams, rev], responses: ok('files with uploadMode') } },
    '/{namespace}/{name}.git/info/lfs/objects/batch': { post: { summary: 'LFS batch: signed upload URLs for objects not stored yet', responses: ok('objects') } },
    '/api/neurstore/lfs-upload/{oid}': { put: { summary: 'upload an object (signed URL; sha256 and size checked)', responses: ok('{}') } },
    '/api/models/{namespace}/{name}/commit/{rev}': { post: { summary: 'NDJSON commit: header, file, lfsFile, deletedFile, deletedFolder', parameters: [...repoParams, rev], responses: ok('commitOid, commitUrl') } },
    '/api/models/{namespace}/{name}/branch/{branch}': { post: { summary: 'create a branch', parameters: repoParams, responses: ok('{}') } },
    '/api/neurstore/stats': { get: { summary: 'store statistics: models, tensors, bytes in, bytes on disk, ratio, dedup hits', responses: ok('stats') } },
    '/api/neurstore/models/{namespace}/{name}/tensors': { get: { summary: 'how each tensor of the model files is stored (revision=, path=)', parameters: repoParams, responses: ok('models and tensors') } },
    '/api/neurstore/models/{namespace}/{name}/lineage': { get: { summary: 'lineage: declared (base_model) and found (shared tensors) edges with bytes saved', parameters: repoParams, responses: ok('repos and edges') } },
    '/api/neurstore/openapi.json': { get: { summary: 'this document', responses: ok('OpenAPI 3.1') } },
  },
};
