/**
 * `neurstore copy --to DST [--from SRC] [NAME...]`: copies models between two stores (a directory or a
 * postgres:// URL each) byte-exactly, as they are stored. A thin renderer of `copyModels`
 * (src/store/copy-models.ts): models the destination holds already with the same content are skipped, so an
 * interrupted copy is resumed by running it again; a name or record the destination holds with other content is
 * CONFLICT (exit 4), nothing of that model written.
 */
import type { Command } from 'commander';
import { invalidArgument } from '../errors.js';
import { NeurStore } from '../store/neur-store.js';
import { copyModels, type CopyResult } from '../store/copy-models.js';
import { storeDir, subcommand, type CliIo } from './cli-context.js';
import { formatBytes, toJson } from './format-output.js';
import { ProgressBar } from './progress-bar.js';

interface CopyFlags {
  from?: string;
  to: string;
  json?: boolean;
}

export function copyCommand(io: CliIo): Command {
  return subcommand('copy', io)
    .argument('[names...]', 'models to copy (default: every model of the source)')
    .description('copy models between stores (directories or postgres:// URLs) byte-exactly; resumable')
    .option('--from <src>', 'source store: a directory or a postgres:// URL (default: the store, as for every command: --store)')
    .requiredOption('--to <dst>', 'destination store: a directory or a postgres:// URL (created when it holds no store)')
    .option('--json', 'machine-readable output')
    .action(async (names: string[], o: CopyFlags, cmd: Command) => {
      const from = storeDir(o.from ?? cmd.optsWithGlobals().store);
      const to = storeDir(o.to);
      if (from === to) throw invalidArgument(`--from and --to are the same store (${from})`);
      // Nothing is decoded or coded: no worker threads.
      const workers = { decodeWorkers: 0, encodeWorkers: 0 };
      const src = await NeurStore.open(from, { readOnly: true, ...workers });
      const bar = new ProgressBar('copy', io.tty ? process.stderr : undefined);
      // Ctrl-C stops the copy cleanly (models copied before stay, the current one is not listed): exit 130.
      const stop = new AbortController();
      const onSigint = (): void => stop.abort();
      process.once('SIGINT', onSigint);
      let r: CopyResult;
      try {
        const dst = await NeurStore.init(to, workers);
        try {
          r = await copyModels(src, dst, names, { signal: stop.signal, onProgress: (p) => bar.update(p.done, p.total) });
        } finally {
          await dst.close();
        }
      } finally {
        process.off('SIGINT', onSigint);
        bar.done();
        await src.close();
      }
      if (o.json) return io.out(toJson(r));
      for (const m of r.models) {
        io.out(m.status === 'copied'
          ? `copied ${m.name}: ${m.recordsCopied} record(s) written (${formatBytes(m.bytesCopied)}), ${m.records - m.recordsCopied} already there`
          : `skipped ${m.name}: already there with the same content`);
      }
      io.out(`${r.copied} model(s) copied, ${r.skipped} skipped, ${formatBytes(r.bytesCopied)} written to ${r.to}`);
    });
}
