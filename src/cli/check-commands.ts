/**
 * `neurstore verify [NAME]` and `neurstore repair`: thin renderers of `store.verify` and `NeurStore.repair`.
 * Both exit 5 (CORRUPTION) when damage remains, so scripts can act on it; the report says what is damaged and
 * which models lost which tensors.
 */
import type { Command } from 'commander';
import { NeurStoreError } from '../errors.js';
import { NeurStore } from '../store/neur-store.js';
import type { RepairReport, VerifyReport } from '../store/store-check.js';
import { storeDir, subcommand, withStore, type CliIo } from './cli-context.js';
import { formatBytes, table, toJson } from './format-output.js';
import { ProgressBar } from './progress-bar.js';

export function verifyCommand(io: CliIo): Command {
  return subcommand('verify', io)
    .argument('[name]', 'model to verify (default: every model)')
    .description('re-read every record (or one model\'s) and check checksums and SHA-256 identities; exit 5 on damage')
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, o: { json?: boolean }, cmd: Command) => {
      const bar = new ProgressBar(`verify ${name ?? 'store'}`, io.tty ? process.stderr : undefined);
      const report = await withStore(cmd, (s) => s.verify(name, { onProgress: (p) => bar.update(p.done, p.total) }), 'read');
      bar.done();
      render(io, report, o.json);
    });
}

export function repairCommand(io: CliIo): Command {
  return subcommand('repair', io)
    .description('rebuild a lost or damaged manifest from the segments (deletes nothing), then verify and report damage')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const bar = new ProgressBar('repair', io.tty ? process.stderr : undefined);
      const report = await NeurStore.repair(storeDir(cmd.optsWithGlobals().store), { onProgress: (p) => bar.update(p.done, p.total) });
      bar.done();
      const m = report.manifest;
      if (!o.json) {
        io.out(m.reason
          ? `manifest ${m.reason.split(':')[0]}: rebuilt from ${m.segments} segment(s), ${m.records} record(s)${m.savedAs ? `; the damaged one is kept as ${m.savedAs}` : ''}`
          : 'manifest intact');
      }
      render(io, report, o.json);
    });
}

function render(io: CliIo, r: VerifyReport | RepairReport, json: boolean | undefined): void {
  if (json) io.out(toJson(r));
  else {
    io.out(`checked ${r.modelsChecked} model(s), ${r.tensorsChecked} tensor(s), ${formatBytes(r.bytesChecked)}`);
    for (const d of r.catalog) io.out(`catalog: ${d.model === null ? '' : `model '${d.model}': `}${d.message}`);
    for (const d of r.segments) io.out(`segment ${d.file} at offset ${d.offset}: ${d.message} (${d.length} bytes hold no record)`);
    if (r.tensors.length) {
      io.out('damaged tensors:');
      io.out(table(['MODEL', 'TENSOR', 'CODE', 'PROBLEM'], r.tensors.map((t) => [t.model, t.tensor, t.code, t.message])));
    }
    if (r.ok && r.segments.length) io.out('every model reads back in full; the damaged ranges above hold nothing a model needs (gc reclaims them)');
    else io.out(r.ok ? 'no damage found' : 'damage found: the models listed above cannot be read back in full');
  }
  if (!r.ok) throw new NeurStoreError('CORRUPTION', 'the store is damaged (see the report above)');
}
