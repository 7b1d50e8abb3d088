/**
 * The one contract of a SQL engine behind `neurstore sql` (DuckDB embedded, a SQLite file): run a query with
 * the store's functions and tables, stream its rows. Failures become NeurStoreErrors: an error a function
 * raised keeps its code (NOT_FOUND for an unknown model...), anything else the database refuses is
 * INVALID_ARGUMENT with the database's own message.
 */
import { NeurStoreError, invalidArgument, isNeurStoreError } from '../errors.js';

export interface SqlResult {
  readonly columns: readonly string[];
  /** Rows in batches, streamed: a result never has to fit in memory. */
  readonly rows: AsyncIterable<unknown[][]>;
}

export interface SqlEngine {
  /** Runs one statement. A statement without rows (CREATE, INSERT...) gives no columns and no rows. */
  query(sql: string): Promise<SqlResult>;
  close(): Promise<void>;
}

/** Maps a database error to a NeurStoreError; `raised` is the error a function of ours threw, if any. */
export function sqlFailure(e: unknown, raised: unknown): NeurStoreError {
  if (isNeurStoreError(e)) return e;
  const message = (e as Error).message ?? String(e);
  if (isNeurStoreError(raised) && message.includes(raised.message)) return new NeurStoreError(raised.code, message, { cause: raised });
  return invalidArgument(message, e);
}
