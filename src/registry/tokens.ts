/**
 * Access tokens: `hf_` + 37 random base62 characters (the JS client refuses tokens without the `hf_` prefix),
 * shown once when created and stored only as their SHA-256. A token has a scope (`read`, or `write` which
 * includes read) and a repository pattern (`*`, `org/*`, `org/model`; `*` matches within one path part).
 */
import { createHash, randomBytes } from 'node:crypto';
import { invalidArgument } from '../errors.js';
import type { TokenRow } from './registry-db.js';
import type { RegistryStore } from './registry-store.js';

export type Scope = 'read' | 'write';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export const hashToken = (secret: string): string => createHash('sha256').update(secret).digest('hex');

function newSecret(): string {
  const bytes = randomBytes(37);
  let s = 'hf_';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length]; // 62 does not divide 256: a bias of < 1 bit over 37 characters
  return s;
}

export function checkTokenRequest(name: unknown, scope: unknown, pattern: unknown): { name: string; scope: Scope; pattern: string } {
  if (typeof name !== 'string' || !/^[\w.@-]{1,64}$/.test(name)) throw invalidArgument(`token name ${JSON.stringify(name)} must be 1-64 of A-Z a-z 0-9 _ . @ -`);
  if (scope !== 'read' && scope !== 'write') throw invalidArgument(`token scope must be read or write, got ${JSON.stringify(scope)}`);
  const p = pattern ?? '*';
  if (typeof p !== 'string' || !/^(\*|[\w.\-*]{1,96}(\/[\w.\-*]{1,96})?)$/.test(p)) {
    throw invalidArgument(`repository pattern ${JSON.stringify(p)} must be '*', 'namespace/*' or 'namespace/name' (* matches within one part)`);
  }
  return { name, scope, pattern: p };
}

/** Creates a token; returns its row and the secret, which is never stored and cannot be shown again. */
export async function createToken(db: RegistryStore, name: string, scope: Scope, pattern = '*'): Promise<{ token: TokenRow; secret: string }> {
  const req = checkTokenRequest(name, scope, pattern);
  const secret = newSecret();
  const token: TokenRow = { id: randomBytes(8).toString('hex'), name: req.name, hash: hashToken(secret), scope: req.scope, repoPattern: req.pattern, createdMs: Date.now() };
  await db.write(async (tx) => {
    if ((await tx.db.tokens()).some((t) => t.name === req.name)) throw invalidArgument(`a token named '${req.name}' exists already (revoke it first)`);
    await tx.insertToken(token);
  });
  return { token, secret };
}

export function findToken(db: RegistryStore, secret: string): Promise<TokenRow | undefined> {
  return db.tokenByHash(hashToken(secret));
}

/** True when `token` may do `need` on `repo`. */
export function tokenAllows(token: TokenRow, repo: string, need: Scope): boolean {
  if (need === 'write' && token.scope !== 'write') return false;
  return patternMatches(token.repoPattern, repo);
}

export function patternMatches(pattern: string, repo: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(repo);
}
