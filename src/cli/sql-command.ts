/**
 * `neurstore sql "QUERY" [--db FILE] [--json|--csv]`: runs a query with the store's functions (`predict`,
 * `predict_scores`) and tables (`models`, `tensors`) in embedded DuckDB, a DuckDB file or a SQLite file, and
 * prints its rows as an aligned table, JSON or CSV. A thin face over `SqlSession` (src/sql/sql-service.ts).
 */
import type { Command } from 'commander';
import { invalidArgument } from '../errors.js';
import { SqlSession } from '../sql/sql-service.js';
import { storeDir, subcommand, type CliIo } from './cli-context.js';
import { table } from './format-output.js';

interface SqlFlags {
  db?: string;
  json?: boolean;
  csv?: boolean;
}

/** A value as one cell of text: lists and maps as JSON, timestamps ISO, NULL empty. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') return JSON.stringify(plain(v));
  return String(v);
}

/** JSON-ready: bigints as numbers when exact (else strings), maps as objects, dates ISO. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function sqlCommand(io: CliIo): Command {
  return subcommand('sql', io)
    .argument('<query>', 'one SQL statement')
    .description('run SQL with predict(model, features [, load_mode]), predict_scores(...) and the tables models, tensors')
    .option('--db <file>', 'run in this SQLite file or DuckDB file (*.duckdb); default: DuckDB in memory, which reads CSV/Parquet/JSON files')
    .option('--json', 'rows as a JSON array of objects')
    .option('--csv', 'rows as CSV with a header line')
    .action(async (query: string, o: SqlFlags, cmd: Command) => {
      if (o.json && o.csv) throw invalidArgument('--json and --csv: choose one');
      const session = await SqlSession.open({ storeDir: storeDir(cmd.optsWithGlobals().store), db: o.db });
      try {
        const r = await session.query(query);
        if (o.csv) {
          if (r.columns.length) io.out(r.columns.map(csvField).join(','));
          for await (const batch of r.rows) for (const row of batch) io.out(row.map((v) => csvField(cell(v))).join(','));
          return;
        }
        const rows: unknown[][] = [];
        for await (const batch of r.rows) rows.push(...batch);
        if (o.json) return io.out(JSON.stringify(rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, plain(row[i])]))), null, 2));
        if (!r.columns.length) return io.out('ok');
        io.out(table(r.columns.map((c) => c.toUpperCase()), rows.map((row) => row.map(cell))));
        io.out(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
      } finally {
        await session.close();
      }
    });
}
