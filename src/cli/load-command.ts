/**
 * `neurstore load NAME`: loads a model in a load mode and reports what each tensor became (its form and the
 * memory it holds) and, with `--check`, its largest error against the exact tensor; with `--session`, builds
 * the runnable model (an ONNX Runtime session for ONNX models, a TF.js model for TF.js ones) and says how long
 * that took. A thin renderer of `loadReport` (src/store/load-check.ts).
 */
import { Command, Option } from 'commander';
import { LOAD_MODES, type LoadMode } from '../runtime/load-forms.js';
import { loadReport } from '../store/load-check.js';
import { parseTolerance } from '../store/tolerance.js';
import { subcommand, withStore, type CliIo } from './cli-context.js';
import { formatBytes, table, toJson } from './format-output.js';
import { ProgressBar } from './progress-bar.js';

interface LoadFlags {
  mode: LoadMode;
  tolerance?: number;
  check?: boolean;
  session?: boolean;
  json?: boolean;
}

export function loadCommand(io: CliIo): Command {
  return subcommand('load', io)
    .argument('<name>', 'model to load')
    .description('load a model in a load mode and report its tensors\' forms, memory and (--check) errors')
    .addOption(new Option('--mode <mode>', 'load mode').choices([...LOAD_MODES]).default('fp32'))
    .option('--tolerance <t>', 'error bound of int8+delta (default: the model\'s tolerance, else 1e-3)', (v: string) => parseTolerance(v))
    .option('--check', 'also load the exact tensors and report each one\'s largest error')
    .option('--session', 'build the runnable model too (ONNX Runtime session or TF.js model)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: LoadFlags, cmd: Command) => {
      const bar = new ProgressBar(`load ${name} (${o.mode})`, io.tty ? process.stderr : undefined);
      const r = await withStore(cmd, (s) => loadReport(s, name, {
        mode: o.mode, tolerance: o.tolerance, check: o.check, session: o.session, onProgress: (p) => bar.update(p.done, p.total),
      }), 'read').finally(() => bar.done());
      if (o.json) return io.out(toJson(r));
      const checked = r.maxError !== undefined;
      const head = ['TENSOR', 'DTYPE', 'SHAPE', 'FORM', 'MEMORY', ...(checked ? ['MAX ERROR'] : [])];
      io.out(table(head, r.rows.map((row) => [
        row.name, row.dtype, `[${row.shape.join(', ')}]`, row.form, formatBytes(row.memoryBytes), ...(checked ? [(row.maxError ?? 0).toExponential(2)] : []),
      ])));
      io.out(`loaded ${name} (${r.mode}): ${r.tensors} tensors, ${formatBytes(r.memoryBytes)} in memory, ${r.seconds.toFixed(3)} s` +
        (checked ? `, max error ${r.maxError!.toExponential(2)}` : ''));
      if (r.session) {
        io.out(`${r.session.kind} ready in ${r.session.seconds.toFixed(3)} s` +
          (r.session.inputs ? `: inputs ${r.session.inputs.join(', ')}; outputs ${r.session.outputs!.join(', ')}` : ''));
      }
    });
}
