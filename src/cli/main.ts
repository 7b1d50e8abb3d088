/**
 * The `neurstore` command. Each subcommand is a thin call into the library API; errors are printed as one line
 * (`neurstore: CODE: message`) and mapped to an exit code in one place (exit-codes.ts).
 */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { invalidArgument } from '../errors.js';
import { NeurStore } from '../store/neur-store.js';
import { formatNames } from '../store/format-registry.js';
import type { FormatName } from '../formats/model-format.js';
import { DEFAULT_TOLERANCE, type Mode } from '../store/store-types.js';
import { describe } from '../store/describe-model.js';
import { parseTolerance } from '../store/tolerance.js';
import { processIo, storeDir, withStore, type CliIo } from './cli-context.js';
import { exitCodeOf } from './exit-codes.js';
import { formatBytes, table, toJson } from './format-output.js';
import { ProgressBar } from './progress-bar.js';
import { sweepCommand } from './sweep-command.js';
import { sqlCommand } from './sql-command.js';
import { inferCommand } from './infer-command.js';
import { loadCommand } from './load-command.js';
import { explainProgram } from './help.js';
import { repairCommand, verifyCommand } from './check-commands.js';
import { lineageCommand, logCommand, pullCommand, pushCommand, tagCommand, tokenCommand } from './hub-commands.js';
import { serveCommand } from './serve-command.js';
import { copyCommand } from './copy-command.js';

export type { CliIo } from './cli-context.js';

interface PutFlags {
  name: string;
  tag: string[];
  format?: FormatName;
  mode?: Mode;
  tolerance?: number;
  dryRun?: boolean;
  effort?: 'default' | 'max';
  json?: boolean;
}

function parseTags(values: string[]): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw invalidArgument(`tag '${v}' is not KEY=VALUE`);
    tags[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return tags;
}

/** Runs `fn` with a signal Ctrl-C aborts (the store then ends it with CANCELLED: exit 130). */
async function untilCtrlC<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const onSigint = (): void => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(stop.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function buildProgram(io: CliIo = processIo): Command {
  const out = io.out;
  const bar = (label: string) => new ProgressBar(label, io.tty ? process.stderr : undefined);
  const program = new Command('neurstore')
    .description('A model store: exact tensor dedup, byte-exact round trips, crash-safe storage')
    .option('--store <dir|url>', 'store: a directory or a postgres:// URL (default: $NEURSTORE_URL, else $NEURSTORE_DIR, else ~/.neurstore)')
    .showHelpAfterError()
    .exitOverride() // subcommands inherit these two only when they are set before the subcommands exist
    .configureOutput({ writeOut: (s) => io.out(s.replace(/\n$/, '')), writeErr: (s) => io.err(s) });

  program.command('init [dir]').description('create a store (idempotent)').action(async (dir: string | undefined, _o, cmd: Command) => {
    const path = storeDir(dir ?? cmd.optsWithGlobals().store); // a directory (made absolute) or a postgres:// URL
    await (await NeurStore.init(path)).close();
    out(`initialized NeurStore in ${path}`);
  });

  program
    .command('put <file>')
    .description('store a model file (or a directory of one model)')
    .requiredOption('--name <name>', 'name of the model in the store')
    .option('--tag <key=value>', 'tag the model (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .addOption(new Option('--format <format>', 'read the input as this format instead of detecting it').choices(formatNames()))
    .addOption(new Option('--mode <mode>', 'lossless (default), default (error-bounded, ours) or paper (the published baseline)').choices(['lossless', 'default', 'paper']))
    .option('--tolerance <t>', `max |x - x'| per element in the lossy modes (implies --mode default; default ${DEFAULT_TOLERANCE})`, (v: string) => parseTolerance(v))
    .addOption(new Option('--effort <effort>', 'lossless coding effort: default (fast), max (about 1% smaller, several times slower)').choices(['default', 'max']))
    .option('--dry-run', 'encode and report the ratio and max error, store nothing')
    .option('--json', 'machine-readable output (the model and every tensor)')
    .action(async (file: string, o: PutFlags, cmd: Command) => {
      const tags = parseTags(o.tag);
      await withStore(cmd, async (s) => {
        const progress = bar(`put ${o.name}`);
        // Ctrl-C stops the put cleanly (nothing of it listed; gc reclaims what it wrote): exit 130.
        const m = await untilCtrlC((signal) => s.put(resolve(file), {
          signal,
          name: o.name, tags, format: o.format, mode: o.mode, tolerance: o.tolerance, dryRun: o.dryRun, effort: o.effort,
          onProgress: (p) => progress.update(p.done, p.total),
        })).finally(() => progress.done());
        if (o.json) return out(toJson(m));
        const verb = m.dryRun ? 'would store' : 'stored';
        const ratio = m.storedBytes > 0 ? `${(m.bytesIn / m.storedBytes).toFixed(2)}x` : 'all duplicates';
        out(`${verb} ${m.name} (${m.mode}${m.mode === 'lossless' ? '' : `, tolerance ${m.tolerance}`}): ${m.tensorCount} tensors, ` +
          `${formatBytes(m.bytesIn)} in, ${formatBytes(m.storedBytes)} new on disk (${ratio}), max error ${m.maxError.toExponential(2)}`);
      });
    });

  program
    .command('get <name>')
    .description('write a model back, byte-identical to the file that was put (or converted with --format)')
    .requiredOption('-o, --output <file>', 'output file (a multi-file model puts its other files beside it), or a directory (existing, or ending in /) to write the files into under their own names')
    .addOption(new Option('--format <format>', "write the tensors in this format instead of the model's own").choices(formatNames()))
    .option('--verify', "also check every chunk of a large tensor against its SHA-256 (slower; records' CRCs are always checked)")
    .option('--sync', 'fsync the written files before exiting (durable through a power cut; bounded by the disk\'s speed)')
    .action(async (name: string, o: { output: string; format?: FormatName; verify?: boolean; sync?: boolean }, cmd: Command) => {
      await withStore(cmd, async (s) => {
        const progress = bar(`get ${name}`);
        // Ctrl-C stops the get cleanly (nothing left at the output path): exit 130.
        const files = await untilCtrlC((signal) => s.get(name, resolve(o.output) + (o.output.endsWith('/') ? '/' : ''), { signal, format: o.format, verify: o.verify, sync: o.sync, onProgress: (p) => progress.update(p.done, p.total) }))
          .finally(() => progress.done());
        out(`wrote ${files.join(', ')}`);
      }, 'read');
    });

  program
    .command('ls')
    .description('list models')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      await withStore(cmd, async (s) => {
        const models = await s.list();
        if (o.json) return out(toJson(models));
        if (models.length === 0) return out('no models');
        out(table(['NAME', 'FORMAT', 'TENSORS', 'SIZE', 'NEW BYTES', 'TAGS'], models.map((m) => [
          m.name, m.format, m.tensorCount, formatBytes(m.bytesIn), formatBytes(m.storedBytes),
          Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(','),
        ])));
      }, 'read');
    });

  program
    .command('info <name>')
    .description('show a model and how each of its tensors is stored')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { json?: boolean }, cmd: Command) => {
      await withStore(cmd, async (s) => {
        const m = await describe(s, name);
        if (o.json) return out(toJson(m));
        out(`${m.name}  format ${m.format}  mode ${m.mode}${m.mode === 'lossless' ? '' : ` (tolerance ${m.tolerance})`}  files ${m.files.join(', ')}`);
        out(`${formatBytes(m.bytesIn)} in, ${formatBytes(m.storedBytes)} new on disk, max error ${m.maxError.toExponential(2)}`);
        if (Object.keys(m.tags).length) out(`tags: ${Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(', ')}`);
        out(table(['#', 'TENSOR', 'DTYPE', 'SHAPE', 'BYTES', 'STORED AS', 'BITS', 'BASE'], m.tensors.map((t) => [
          t.index, t.name, t.dtype, `[${t.shape.join(', ')}]`, t.byteLength, t.storedAs, t.bits.toFixed(2), t.base ?? '',
        ])));
      }, 'read');
    });

  program.command('rm <name>').description('remove a model (space returns at the next gc)').action(async (name: string, _o, cmd: Command) => {
    await withStore(cmd, (s) => s.remove(name));
    out(`removed ${name}`);
  });

  program.command('gc').description('reclaim the space of data no model references').action(async (_o, cmd: Command) => {
    const r = await withStore(cmd, (s) => untilCtrlC((signal) => s.gc({ signal }))); // Ctrl-C before reclaiming: nothing reclaimed
    out(`dropped ${r.recordsDropped} record(s), reclaimed ${formatBytes(r.bytesReclaimed)}`);
  });

  program
    .command('stats')
    .description('models, tensors, bytes in, bytes on disk, ratio, dedup hits')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const st = await withStore(cmd, (s) => s.stats(), 'read');
      if (o.json) return out(toJson(st));
      out(table(['MODELS', 'TENSORS', 'BYTES IN', 'ON DISK', 'RATIO', 'DEDUP HITS'], [[
        st.models, st.tensors, formatBytes(st.bytesIn), formatBytes(st.bytesOnDisk), `${st.ratio.toFixed(2)}x`, st.dedupHits,
      ]]));
    });

  program.addCommand(sweepCommand(io));
  program.addCommand(loadCommand(io));
  program.addCommand(sqlCommand(io));
  program.addCommand(inferCommand(io));
  program.addCommand(verifyCommand(io));
  program.addCommand(repairCommand(io));
  program.addCommand(pushCommand(io));
  program.addCommand(pullCommand(io));
  program.addCommand(logCommand(io));
  program.addCommand(tagCommand(io));
  program.addCommand(lineageCommand(io));
  program.addCommand(tokenCommand(io));
  program.addCommand(serveCommand(io));
  program.addCommand(copyCommand(io));
  return explainProgram(program); // --version, environment and exit codes, examples, `help COMMAND`: last, after every command
}

/** Runs the CLI; returns the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  if (io === processIo) endQuietlyWhenOutputCloses();
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return ce.exitCode === 0 ? 0 : 2;
    const err = e as Error & { code?: string };
    io.err(`neurstore: ${err.code ?? 'INTERNAL'}: ${err.message}\n`);
    return exitCodeOf(e);
  }
}

/** `neurstore ls | head -1`: when the reader of stdout goes away, stop quietly instead of failing with EPIPE. */
function endQuietlyWhenOutputCloses(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}
