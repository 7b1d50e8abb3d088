/**
 * Who may do what. A request's token (`Authorization: Bearer hf_...`) is looked up by its hash; a token that
 * is unknown is 401 with the Hub's message "Invalid credentials in Authorization header". Reads of a public
 * repository need no token when the server allows anonymous reads; a private repository, or a repository the
 * token does not cover, is RepoNotFound (401 without a token, 404 with one: its existence is not revealed);
 * a write without a write token covering the repository is 401 (no token) or 403.
 */
import type { FastifyRequest } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { HubError, repoNotFound } from '../registry/hub-names.js';
import type { TokenRow, RepoRow } from '../registry/registry-db.js';
import { findToken, tokenAllows } from '../registry/tokens.js';
import { withStatus } from './http-errors.js';

export const INVALID_CREDENTIALS = 'Invalid credentials in Authorization header';

export class Access {
  constructor(private readonly reg: Registry, readonly anonymousReads: boolean) {}

  /** The request's token; undefined when it sends none; 401 when it sends one that is not valid. */
  async token(req: FastifyRequest): Promise<TokenRow | undefined> {
    const h = req.headers.authorization;
    if (h === undefined || h === '') return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    const t = m ? await findToken(this.reg.db, m[1]!) : undefined;
    if (!t) throw new HubError('INVALID_ARGUMENT', 'Unauthorized', INVALID_CREDENTIALS);
    return t;
  }

  /** The repository, if the request may read it; RepoNotFound (401/404) otherwise. */
  async readable(req: FastifyRequest, name: string): Promise<RepoRow> {
    const token = await this.token(req);
    const repo = await this.reg.db.repo(name);
    const hidden = () => (token ? repoNotFound(name) : withStatus(repoNotFound(name), 401));
    if (!repo) throw hidden();
    if (token && tokenAllows(token, name, 'read')) return repo;
    if (!repo.private && this.anonymousReads) return repo;
    if (!repo.private && token) throw new HubError('NOT_FOUND', 'Forbidden', `token '${token.name}' does not cover repository '${name}'`);
    throw hidden();
  }

  /** The token, if it may write `name` (which need not exist yet); 401/403 otherwise. */
  async writer(req: FastifyRequest, name: string): Promise<TokenRow> {
    const token = await this.token(req);
    if (!token) throw new HubError('INVALID_ARGUMENT', 'Unauthorized', `writing to '${name}' needs a write token (Authorization: Bearer hf_...)`);
    if (!tokenAllows(token, name, 'write')) {
      const repo = await this.reg.db.repo(name);
      if (repo && !tokenAllows(token, name, 'read') && repo.private) throw repoNotFound(name);
      throw withStatus(new HubError('NOT_FOUND', 'Forbidden', `token '${token.name}' (${token.scope}, repositories ${token.repoPattern}) may not write to '${name}'`), 403);
    }
    return token;
  }
}
