/**
 * The one mapping from errors to HTTP responses. Every error answer carries `X-Error-Code` (the Hub's case,
 * e.g. `RepoNotFound`, `RevisionNotFound`, `EntryNotFound`, else NeurStore's code) and `X-Error-Message`, and a
 * JSON body `{"error": message}` (none for HEAD), as the Hugging Face clients read them.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NeurStoreError, type ErrorCode } from '../errors.js';
import { HubError, type HubErrorKind } from '../registry/hub-names.js';

const BY_CODE: Readonly<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  CONFLICT: 409,
  CORRUPTION: 500,
  NOT_SUPPORTED: 501,
  IO_ERROR: 503,
  CANCELLED: 499,
};

const BY_KIND: Readonly<Record<HubErrorKind, number>> = {
  RepoNotFound: 404,
  RevisionNotFound: 404,
  EntryNotFound: 404,
  Unauthorized: 401,
  Forbidden: 403,
  PreconditionFailed: 412,
  BadRequest: 400,
  TooLarge: 413,
  RangeNotSatisfiable: 416,
};

/** Fastify's own errors (bad JSON, body too large, unknown content type) by their `code`. */
const FASTIFY: Readonly<Record<string, [number, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'TooLarge'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'UnsupportedMediaType'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'BadRequest'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'BadRequest'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'BadRequest'],
};

export interface ErrorAnswer { status: number; code: string; message: string; commit?: string }

export function answerOf(e: unknown): ErrorAnswer {
  if (e instanceof HubError) {
    const status = (e as HubError & { status?: number }).status ?? BY_KIND[e.kind];
    return { status, code: e.kind, message: e.message, commit: e.commit };
  }
  if (e instanceof NeurStoreError) return { status: BY_CODE[e.code], code: e.code, message: e.message };
  const fe = e as { code?: string; statusCode?: number; message?: string };
  const known = fe.code ? FASTIFY[fe.code] : undefined;
  if (known) return { status: known[0], code: known[1], message: fe.message ?? 'bad request' };
  if (e instanceof SyntaxError) return { status: 400, code: 'BadRequest', message: `malformed JSON: ${e.message}` };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return { status: fe.statusCode, code: 'BadRequest', message: fe.message ?? 'bad request' };
  return { status: 500, code: 'INTERNAL', message: 'internal error (see the server log)' };
}

/** A HubError with a status other than its kind's usual one (a RepoNotFound that is 401 for anonymous callers). */
export function withStatus(e: HubError, status: number): HubError {
  return Object.assign(e, { status });
}

export function sendError(req: FastifyRequest, reply: FastifyReply, e: unknown): FastifyReply {
  const a = answerOf(e);
  if (a.status >= 500) req.log.error({ err: e }, 'request failed');
  reply.code(a.status).header('X-Error-Code', a.code).header('X-Error-Message', headerSafe(a.message));
  if (a.commit) reply.header('X-Repo-Commit', a.commit);
  if (req.method === 'HEAD') return reply.send();
  return reply.type('application/json').send({ error: a.message });
}

/** Header values are Latin-1 without line breaks: anything else is escaped, long messages cut. */
export function headerSafe(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c)).slice(0, 1000);
}
