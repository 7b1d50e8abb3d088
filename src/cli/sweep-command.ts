/**
 * `neurstore sweep FILE`: what each tolerance would buy (ratio, max error) and, with `--eval SCRIPT`, what it
 * costs in the user's own metric, so a tolerance is chosen from data. A thin face over `sweepTolerances`.
 *
 * SCRIPT is an ES module whose default export is `async (modelPath: string) => number`, called once per
 * tolerance on the model written back by the store (same format and file name as FILE). `.js`/`.mjs` scripts are
 * imported as they are; `.ts`/`.mts`/`.cts` scripts go through tsx's `tsImport`, so tsx must be installed
 * (`npm i -D tsx`), or compile the script to JavaScript first. Outside a `"type": "module"` package a `.ts`
 * script loads as CommonJS (no top-level await); name it `.mts` to load it as an ES module.
 */
import { Command, Option } from 'commander';
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { invalidArgument, notFound, notSupported } from '../errors.js';
import { DEFAULT_SWEEP_TOLERANCES, sweepTolerances, type EvaluateFn, type SweepRow } from '../store/tolerance-sweep.js';
import { SQL_METRICS, sqlEvaluator, type SqlMetric } from '../sql/sql-metric.js';
import { parseTolerances } from '../store/tolerance.js';
import { subcommand, withStore, type CliIo } from './cli-context.js';
import { table, toJson } from './format-output.js';

interface SweepFlags {
  mode: 'default' | 'paper';
  tolerances: number[];
  eval?: string;
  db?: string;
  query?: string;
  metric?: SqlMetric;
  json?: boolean;
}

const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

/** Imports the user's metric module: INVALID_ARGUMENT when its default export is not a function. */
export async function loadEvaluate(script: string): Promise<EvaluateFn> {
  const path = resolve(script);
  const url = pathToFileURL(path).href;
  if (!existsSync(path)) throw notFound(`--eval script ${script} does not exist`);
  let mod: { default?: unknown };
  if (TS_EXTENSIONS.has(extname(path))) {
    const tsx = await import('tsx/esm/api').catch(() => {
      throw notSupported(`--eval ${script}: a TypeScript script needs tsx installed (npm i -D tsx), or compile it to .js`);
    });
    mod = (await tsx.tsImport(url, import.meta.url)) as { default?: unknown };
  } else {
    mod = (await import(url)) as { default?: unknown };
  }
  // A .ts script outside an ESM package loads as CommonJS, whose exports arrive wrapped in one more `default`.
  let f = mod.default;
  if (typeof f === 'object' && f !== null && typeof (f as { default?: unknown }).default === 'function') f = (f as { default: unknown }).default;
  if (typeof f !== 'function') throw invalidArgument(`--eval ${script}: its default export must be async (modelPath: string) => number`);
  return async (modelPath) => Number(await (f as EvaluateFn)(modelPath));
}

function fmtRatio(r: SweepRow): string {
  return Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}x` : 'all duplicates';
}

/**
 * The `sweep` subcommand. `io` is where it prints (the CLI's streams, or a test's buffers); the store is the
 * global `--store` one, which the sweep leaves as it found it (temporary models are removed).
 */
export function sweepCommand(io: CliIo): Command {
  return subcommand('sweep', io)
    .argument('<file>', 'the model to sweep (a file, a model.json, or a directory of one model)')
    .description('ratio, max error and (with --eval) your metric at each tolerance; stores nothing')
    .addOption(new Option('--mode <mode>', 'lossy mode to sweep').choices(['default', 'paper']).default('default'))
    .addOption(new Option('--tolerances <list>', 'comma-separated tolerances').argParser((v: string) => parseTolerances(v))
      .default([...DEFAULT_SWEEP_TOLERANCES], DEFAULT_SWEEP_TOLERANCES.map((t) => t.toExponential(0)).join(',')))
    .option('--eval <script>', 'a JS/TS module whose default export is async (modelPath) => number, run on each written-back model')
    .option('--query <sql>', 'measure each tolerance on these rows instead: SELECT features [, label] (DuckDB by default, reading files)')
    .option('--db <file|url>', 'where --query runs: a SQLite file, a DuckDB file (*.duckdb) or postgres://...')
    .addOption(new Option('--metric <metric>', 'with --query: accuracy (needs a label), agreement with the uncompressed model, or mse').choices([...SQL_METRICS]))
    .option('--json', 'machine-readable output')
    .action(async (file: string, o: SweepFlags, cmd: Command) => {
      if (o.query !== undefined && o.eval !== undefined) throw invalidArgument('--eval and --query: choose one way to measure');
      if (o.query === undefined && (o.db !== undefined || o.metric !== undefined)) throw invalidArgument('--db and --metric need --query');
      const sql = o.query === undefined ? undefined : await sqlEvaluator(resolve(file), { db: o.db, query: o.query, metric: o.metric });
      const evaluate = sql?.evaluate ?? (o.eval === undefined ? undefined : await loadEvaluate(o.eval));
      const rows = await withStore(cmd, (s) => sweepTolerances(s, resolve(file), { mode: o.mode, tolerances: o.tolerances, evaluate }));
      if (o.json) return io.out(toJson(rows.map((r) => ({ ...r, ratio: Number.isFinite(r.ratio) ? r.ratio : null }))));
      io.out(table(['TOLERANCE', 'RATIO', 'MAX ERROR', sql ? sql.metric.toUpperCase() : 'METRIC'], rows.map((r) => [
        r.tolerance.toExponential(0), fmtRatio(r), r.maxError.toExponential(2), r.metric === undefined ? '-' : String(Number(r.metric.toPrecision(6))),
      ])));
    });
}
