/**
 * Test support: a throwaway PostgreSQL server (Debian's `postgresql` package: initdb and pg_ctl live in
 * /usr/lib/postgresql/VERSION/bin, off PATH). `startPgServer()` makes a data directory under the system temp
 * directory, initdb's it (as the `postgres` user when running as root: initdb refuses root), starts it on a
 * free 127.0.0.1 port with trust authentication and its socket in the same directory, and returns its URL;
 * `stop()` stops it (immediate mode) and deletes the directory. `pgTestSkip()` tells a test whether to skip:
 * never in CI, where a missing PostgreSQL must fail the test, not hide it.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DEBIAN_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest installed PostgreSQL (with initdb and pg_ctl), or undefined. */
export function pgBinDir(): string | undefined {
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT).filter((v) => existsSync(join(DEBIAN_ROOT, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length ? join(DEBIAN_ROOT, versions[0]!, 'bin') : undefined;
}

/**
 * `false` when PostgreSQL can be started here; else the reason to skip. With `ci` set (tests pass
 * `Boolean(process.env.CI)`) a missing PostgreSQL throws instead: CI must run these tests, never skip them.
 */
export function pgTestSkip(ci: boolean): string | false {
  if (pgBinDir()) return false;
  const reason = `PostgreSQL is not installed (no ${DEBIAN_ROOT}/*/bin/initdb): apt-get install -y postgresql`;
  if (ci) throw new Error(`${reason}; CI must install it (.ci/run)`);
  return reason;
}

export interface PgServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Runs a PostgreSQL tool, as `postgres` when we are root. */
async function pgTool(bin: string, tool: string, args: string[]): Promise<void> {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  try {
    await run(cmd, argv, { timeout: 120_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${tool} failed: ${err.stderr?.trim() || err.message}`);
  }
}

/** Starts a fresh server; throws (naming the tool and its stderr) when it cannot. */
export async function startPgServer(): Promise<PgServer> {
  const bin = pgBinDir();
  if (!bin) throw new Error(`PostgreSQL is not installed (no ${DEBIAN_ROOT}/*/bin/initdb)`);
  const root = mkdtempSync(join(tmpdir(), 'neurstore-pg-'));
  const dataDir = join(root, 'data');
  if (isRoot()) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(root, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(root, 0o700);
  }
  try {
    await pgTool(bin, 'initdb', ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
    const port = await freePort();
    await pgTool(bin, 'pg_ctl', ['-D', dataDir, '-w', '-l', join(root, 'log'), 'start', '-o',
      `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`]);
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, dataDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await pgTool(bin, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}
