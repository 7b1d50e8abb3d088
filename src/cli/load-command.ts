/**
 * `neurstore load NAME`: loads a model in a load mode and reports what each tensor became (its form and the
 * memory it holds) and, with `--check`, its largest error against the exact tensor; with `--session`, builds
 * the runnable model (an ONNX Runtime session for ONNX models, a TF.js model for TF.js ones) and says how long
 * that took. A thin face over `store.load`, `store.onnxSession` and `store.tfjsModel`.
 */
import { Command, Option } from 'commander';
import { performance } from 'node:perf_hooks';
import { notSupported } from '../errors.js';
import { NeurStore } from '../store/neur-store.js';
import { LOAD_MODES, loadedBytes, loadedValues, type LoadMode, type LoadedTensor } from '../runtime/load-forms.js';
import { maxAbsError } from '../store/tensor-values.js';
import { formatBytes, table, toJson } from './format-output.js';
import { parseTolerance, storeDir, subcommand, type CliIo } from './main.js';
import { ProgressBar } from './progress-bar.js';

interface LoadFlags {
  mode: LoadMode;
  tolerance?: number;
  check?: boolean;
  session?: boolean;
  json?: boolean;
}

interface LoadRow {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly form: string;
  readonly memoryBytes: number;
  readonly maxError?: number;
}

export function loadCommand(io: CliIo): Command {
  return subcommand('load', io)
    .argument('<name>', 'model to load')
    .description('load a model in a load mode and report its tensors\' forms, memory and (--check) errors')
    .addOption(new Option('--mode <mode>', 'load mode').choices([...LOAD_MODES]).default('fp32'))
    .option('--tolerance <t>', 'error bound of int8+delta (default: the model\'s tolerance, else 1e-3)', parseTolerance)
    .option('--check', 'also load the exact tensors and report each one\'s largest error')
    .option('--session', 'build the runnable model too (ONNX Runtime session or TF.js model)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: LoadFlags, cmd: Command) => {
      const store = await NeurStore.open(storeDir(cmd.optsWithGlobals().store), { readOnly: true });
      try {
        await runLoad(store, name, o, io);
      } finally {
        await store.close();
      }
    });
}

async function runLoad(store: NeurStore, name: string, o: LoadFlags, io: CliIo): Promise<void> {
  const exact = o.check ? await exactValues(store, name) : undefined;
  const bar = new ProgressBar(`load ${name} (${o.mode})`, io.tty ? process.stderr : undefined);
  const rows: LoadRow[] = [];
  const started = performance.now();
  for await (const t of store.load(name, { mode: o.mode, tolerance: o.tolerance, onProgress: (p) => bar.update(p.done, p.total) })) {
    const want = exact?.get(t.index);
    rows.push({
      name: t.name, dtype: t.dtype, shape: t.shape, form: formName(t), memoryBytes: loadedBytes(t),
      ...(want ? { maxError: maxAbsError(loadedValues(t), want) } : {}),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  bar.done();
  let session: { kind: string; seconds: number; inputs?: readonly string[]; outputs?: readonly string[] } | undefined;
  if (o.session) session = await buildSession(store, name, o);
  const memory = rows.reduce((n, r) => n + r.memoryBytes, 0);
  const maxError = exact ? rows.reduce((m, r) => Math.max(m, r.maxError ?? 0), 0) : undefined;
  const summary = { name, mode: o.mode, tensors: rows.length, memoryBytes: memory, seconds, maxError, cache: store.cacheStats(), session };
  if (o.json) return io.out(toJson({ ...summary, rows }));
  const head = ['TENSOR', 'DTYPE', 'SHAPE', 'FORM', 'MEMORY', ...(exact ? ['MAX ERROR'] : [])];
  io.out(table(head, rows.map((r) => [
    r.name, r.dtype, `[${r.shape.join(', ')}]`, r.form, formatBytes(r.memoryBytes), ...(exact ? [(r.maxError ?? 0).toExponential(2)] : []),
  ])));
  io.out(`loaded ${name} (${o.mode}): ${rows.length} tensors, ${formatBytes(memory)} in memory, ${seconds.toFixed(3)} s` +
    (maxError !== undefined ? `, max error ${maxError.toExponential(2)}` : ''));
  if (session) {
    io.out(`${session.kind} ready in ${session.seconds.toFixed(3)} s` +
      (session.inputs ? `: inputs ${session.inputs.join(', ')}; outputs ${session.outputs!.join(', ')}` : ''));
  }
}

async function buildSession(store: NeurStore, name: string, o: LoadFlags): Promise<{ kind: string; seconds: number; inputs?: readonly string[]; outputs?: readonly string[] }> {
  const format = (await store.info(name)).format;
  const t0 = performance.now();
  if (format === 'onnx') {
    const s = await store.onnxSession(name, { mode: o.mode, tolerance: o.tolerance });
    const r = { kind: `ONNX Runtime session (${o.mode})`, seconds: (performance.now() - t0) / 1000, inputs: s.inputNames, outputs: s.outputNames };
    await s.release();
    return r;
  }
  if (format === 'tfjs') {
    const m = await store.tfjsModel(name);
    const r = { kind: 'TF.js model', seconds: (performance.now() - t0) / 1000 };
    m.dispose();
    return r;
  }
  throw notSupported(`--session: a ${format} model has no runtime here (load its tensors instead)`);
}

/** Exact float values by tensor index, for --check. */
async function exactValues(store: NeurStore, name: string): Promise<Map<number, Float32Array>> {
  const out = new Map<number, Float32Array>();
  for await (const t of store.load(name, { mode: 'exact' })) out.set(t.index, loadedValues(t));
  return out;
}

function formName(t: LoadedTensor): string {
  if (t.form !== 'int8') return t.form;
  const d = t.delta ? `+delta${8 * t.delta.codes.BYTES_PER_ELEMENT}` : '';
  return `int8${d}${t.baseKey !== undefined ? ' (shared base)' : ''}`;
}
