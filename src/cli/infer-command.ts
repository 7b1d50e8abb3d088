/**
 * `neurstore infer MODEL --db postgres://... --query Q --into TABLE`: scores a PostgreSQL query's rows with a
 * stored model and writes (key, prediction, scores) into TABLE. A thin face over `inferPostgres`
 * (src/sql/postgres-infer.ts); it draws rows and rows/s on stderr when that is a terminal.
 */
import { Command, Option } from 'commander';
import { invalidArgument } from '../errors.js';
import { LOAD_MODES, type LoadMode } from '../runtime/load-forms.js';
import { DEFAULT_INFER_BATCH, inferPostgres } from '../sql/postgres-infer.js';
import { isPostgresUrl } from '../sql/sql-service.js';
import { parseWholeNumber } from '../store/tolerance.js';
import { subcommand, withStore, type CliIo } from './cli-context.js';
import { toJson } from './format-output.js';

interface InferFlags {
  db: string;
  query: string;
  into: string;
  key?: string;
  mode: LoadMode;
  batch: number;
  resume?: boolean;
  json?: boolean;
}

export function inferCommand(io: CliIo): Command {
  return subcommand('infer', io)
    .argument('<model>', 'stored model to run')
    .description('score the rows of a PostgreSQL query with a stored model and write (key, prediction, scores) into a table')
    .requiredOption('--db <url>', 'postgres://user@host:port/database')
    .requiredOption('--query <sql>', 'SELECT giving the key (optional) and the features: one numeric array, one float32 bytea, or numeric columns')
    .requiredOption('--into <table>', 'table to write (created if missing)')
    .option('--key <column>', 'the query\'s key column, copied into the table (default: rows numbered from 1)')
    .addOption(new Option('--mode <mode>', 'load mode').choices([...LOAD_MODES]).default('fp32'))
    .option('--batch <n>', 'rows per runtime call and per written transaction', (v: string) => parseWholeNumber(v, '--batch', 1), DEFAULT_INFER_BATCH)
    .option('--resume', 'score only the rows whose key the table does not hold yet (needs --key)')
    .option('--json', 'machine-readable summary')
    .action(async (model: string, o: InferFlags, cmd: Command) => {
      if (!isPostgresUrl(o.db)) throw invalidArgument(`--db must be a postgres:// URL, got '${o.db}' (for SQLite and DuckDB use \`neurstore sql\`)`);
      const started = Date.now();
      const draw = (rows: number): void => {
        if (!io.tty) return;
        const secs = Math.max(0.001, (Date.now() - started) / 1000);
        io.err(`\rinfer ${model}: ${rows.toLocaleString('en-US')} rows, ${Math.round(rows / secs).toLocaleString('en-US')} rows/s\x1b[K`);
      };
      const r = await withStore(cmd, (s) => inferPostgres(s, {
        model, db: o.db, query: o.query, into: o.into, key: o.key, mode: o.mode, batch: o.batch, resume: o.resume,
        onProgress: (p) => draw(p.rows),
      }), 'read').finally(() => io.tty && io.err('\n'));
      if (o.json) return io.out(toJson(r));
      io.out(`wrote ${r.rows} rows (${r.batches} batches) into ${r.table} (${r.keyColumn}, prediction, scores) in ${r.seconds.toFixed(2)} s, ` +
        `${Math.round(r.rows / Math.max(r.seconds, 1e-9))} rows/s`);
    });
}
