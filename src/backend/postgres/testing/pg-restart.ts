/**
 * Test support: stops a throwaway server (src/testing/pg-server.ts) without deleting its data directory, and
 * starts it again on the same port, as an operator's restart would: sessions are cut, committed data stays.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { pgBinDir, type PgServer } from '../../../testing/pg-server.js';

const run = promisify(execFile);

async function pgCtl(args: string[]): Promise<void> {
  const ctl = join(pgBinDir()!, 'pg_ctl');
  const [cmd, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ctl, ...args]] : [ctl, args];
  await run(cmd, argv, { timeout: 120_000 });
}

/** Immediate stop: every session is cut at once, as when the server crashes or is killed. */
export const stopServer = (s: PgServer): Promise<void> => pgCtl(['-D', s.dataDir, '-m', 'immediate', '-w', 'stop']);

export function startServer(s: PgServer): Promise<void> {
  const root = dirname(s.dataDir);
  return pgCtl(['-D', s.dataDir, '-w', '-l', join(root, 'log'), 'start', '-o',
    `-p ${s.port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`]);
}

/** Requires a password for `user` over TCP (the server trusts everyone else), then reloads the configuration. */
export async function requirePassword(s: PgServer, user: string, sql: (text: string) => Promise<unknown>): Promise<void> {
  const hba = join(s.dataDir, 'pg_hba.conf');
  writeFileSync(hba, `host all ${user} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
  await sql('SELECT pg_reload_conf()');
}
