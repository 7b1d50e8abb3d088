/**
 * `neurstore serve`: a fastify server answering the Hugging Face Hub's HTTP API (download, metadata, upload)
 * over a registry, plus NeurStore's own JSON API. Errors are answered in one place (http-errors.ts); CORS lets
 * browser clients (transformers.js, @huggingface/hub in a page) call it with Range and Authorization.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { NeurStoreError } from '../errors.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkFilePath } from '../registry/hub-names.js';
import { Access } from './access.js';
import { sendError } from './http-errors.js';
import { downloadRoutes } from './hub-download.js';
import { uploadRoutes, type UploadLimits } from './hub-upload.js';
import { nativeRoutes } from './native-api.js';
import { dashboardRoutes } from '../ui/routes.js';

export interface ServerOptions {
  /** Read public repositories without a token (default false: every request needs a token). */
  anonymousRead?: boolean;
  /** The URL clients reach the server at (upload and commit URLs are built on it); default: the request's Host. */
  publicUrl?: string;
  limits?: Partial<UploadLimits>;
  /** Log requests (pino) to stdout. */
  logger?: boolean;
  /**
   * Serve the files of this directory as they are at `GET /api/neurstore/plain/{path}` (no store, no auth):
   * the baseline `bench:server` compares model downloads with. Off unless given.
   */
  plainFilesDir?: string;
}

const EXPOSED = 'X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag,Content-Length';

export async function buildServer(reg: Registry, options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 8 * 1024 * 1024, routerOptions: { ignoreTrailingSlash: true, maxParamLength: 2048 } });
  const access = new Access(reg, Boolean(options.anonymousRead));
  const limits: UploadLimits = { maxUploadBytes: 20 * 1024 ** 3, maxCommitBytes: 256 * 1024 ** 2, ...options.limits };
  const baseUrl = (req: FastifyRequest) => (options.publicUrl ?? `${req.protocol}://${req.headers.host ?? `${req.hostname}`}`).replace(/\/+$/, '');

  app.addContentTypeParser('application/vnd.git-lfs+json', { parseAs: 'string' }, (_req, body, done) => parseJson(body as string, done));
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of new URLSearchParams(body as string)) {
      const have = out[k];
      out[k] = have === undefined ? (k === 'paths' ? [v] : v) : Array.isArray(have) ? [...have, v] : [have, v];
    }
    done(null, out);
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('Access-Control-Allow-Origin', req.headers.origin ?? '*').header('Access-Control-Expose-Headers', EXPOSED).header('Vary', 'Origin');
  });
  app.options('*', async (_req, reply) => reply.code(204)
    .header('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, DELETE, OPTIONS')
    .header('Access-Control-Allow-Headers', 'Authorization, Range, Content-Type, X-Request-Id, Accept')
    .header('Access-Control-Max-Age', '86400').send());

  app.setErrorHandler((e, req, reply) => sendError(req, reply, e));
  app.setNotFoundHandler((req, reply) => sendError(req, reply, new NeurStoreError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]} on this hub (see /api/neurstore/openapi.json)`)));

  downloadRoutes(app, reg, access);
  uploadRoutes(app, reg, access, limits, baseUrl);
  nativeRoutes(app, reg, access);
  dashboardRoutes(app, reg, access);
  if (options.plainFilesDir) plainFiles(app, options.plainFilesDir);
  await app.ready();
  return app;
}

function plainFiles(app: FastifyInstance, dir: string): void {
  app.get('/api/neurstore/plain/*', async (req, reply) => {
    const path = checkFilePath((req.params as Record<string, string>)['*']);
    const file = join(dir, ...path.split('/'));
    const size = (await stat(file).catch(() => undefined))?.size;
    if (size === undefined) throw new NeurStoreError('NOT_FOUND', `no file ${path}`);
    return reply.header('Content-Type', 'application/octet-stream').header('Content-Length', String(size)).send(createReadStream(file));
  });
}

function parseJson(body: string, done: (e: Error | null, v?: unknown) => void): void {
  try {
    done(null, body === '' ? {} : JSON.parse(body));
  } catch (e) {
    done(Object.assign(e as Error, { statusCode: 400 }));
  }
}
