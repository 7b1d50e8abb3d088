/**
 * What every CLI command shares: where it prints (`CliIo`), which store it opens (`storeDir`, `withStore`) and how
 * a subcommand is built (`subcommand`). main.ts and the command files all import this module and it imports none
 * of them, so the CLI's imports form a tree (src/import-cycles.test.ts checks there is no cycle anywhere in src/).
 */
import { Command } from 'commander';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { invalidArgument } from '../errors.js';
import { NeurStore, isDatabaseUrl } from '../store/neur-store.js';

/**
 * The store: --store, else $NEURSTORE_URL (a postgres:// URL), else $NEURSTORE_DIR, else ~/.neurstore; a
 * directory (made absolute) or a postgres:// URL.
 */
export function storeDir(flag: string | undefined): string {
  const url = process.env.NEURSTORE_URL;
  if (flag === undefined && url && !isDatabaseUrl(url)) {
    throw invalidArgument(`$NEURSTORE_URL must be a postgres:// or postgresql:// URL, got '${url}' (a directory goes in $NEURSTORE_DIR)`);
  }
  const location = flag ?? (url || undefined) ?? process.env.NEURSTORE_DIR ?? join(homedir(), '.neurstore');
  return isDatabaseUrl(location) ? location : resolve(location);
}

/** Opens the store for one command; commands that only read open it read-only (they work on a full disk). */
export async function withStore<T>(cmd: Command, f: (s: NeurStore) => Promise<T>, access: 'read' | 'write' = 'write'): Promise<T> {
  const store = await NeurStore.open(storeDir(cmd.optsWithGlobals().store), { readOnly: access === 'read' });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Where the CLI prints: the process's streams, or a test's buffers. */
export interface CliIo {
  out(line: string): void;
  err(text: string): void;
  /** True when progress bars should be drawn. */
  readonly tty: boolean;
}

export const processIo: CliIo = {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (text) => void process.stderr.write(text),
  tty: Boolean(process.stderr.isTTY),
};

/**
 * A subcommand built on its own and added with `addCommand`: such commands do not inherit the program's exit
 * and output settings (only `.command()` ones do), so they get them here.
 */
export function subcommand(name: string, io: CliIo): Command {
  return new Command(name)
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s) });
}
