/**
 * Opening the SQLite catalog, and the one mapping of SQLite's errors to NeurStore's codes: CORRUPT/NOTADB are
 * CORRUPTION, FULL/IOERR/READONLY/CANTOPEN are IO_ERROR, BUSY/LOCKED are CONFLICT; anything else stays a bug.
 *
 * A read-only open (reads on a full disk or read-only media) first tries a normal read-only connection; when
 * SQLite cannot create or grow its shared-memory file there (SQLITE_IOERR_SHMSIZE, READONLY, CANTOPEN), it
 * opens the database as immutable, which is exact as long as no write-ahead log holds commits not yet folded in
 * (NeurStore folds it in when the last writer closes); if one does, the open fails with IO_ERROR and says why.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { NeurStoreError, ioError } from '../../errors.js';

export function sqliteError(path: string, what: string, e: unknown): NeurStoreError {
  if (e instanceof NeurStoreError) return e;
  const code = String((e as { code?: unknown }).code ?? '');
  const detail = `${what} ${path}: ${(e as Error).message} (${code})`;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || e instanceof SyntaxError) {
    return new NeurStoreError('CORRUPTION', `catalog is damaged: ${detail}; run \`neurstore repair\``, { cause: e });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new NeurStoreError('CONFLICT', `another process holds the catalog: ${detail}; try again`, { cause: e });
  }
  if (/^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|PERM)/.test(code)) return ioError(`${what} ${path} (${code})`, e);
  return e as NeurStoreError; // not SQLite's: a bug, reported as such
}

/** Runs `f`, mapping what SQLite throws (see `sqliteError`). */
export function guarded<T>(path: string, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw sqliteError(path, what, e);
  }
}

// better-sqlite3 reads SQLITE_USE_URI once, when its addon first loads (on the first open), to let 'file:' names
// carry parameters; only the immutable fallback below uses one (plain paths are never 'file:' names here).
// NeurStore sets this variable for its dependency; it is not a setting of NeurStore's own.
const URI_SWITCH = 'SQLITE_USE_URI';
process.env[URI_SWITCH] ??= '1';

const SHM_FAILURES = /^SQLITE_(IOERR_SHM|IOERR_LOCK|READONLY|CANTOPEN)/;

export function openReadOnly(path: string, timeoutMs: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true, timeout: timeoutMs });
    db.prepare('SELECT COUNT(*) FROM sqlite_master').get(); // touches the WAL index: fails here if it cannot
    return db;
  } catch (e) {
    db?.close();
    const code = String((e as { code?: unknown }).code ?? '');
    if (!SHM_FAILURES.test(code)) throw sqliteError(path, 'cannot open catalog', e);
    if (walBytes(path) > 0) {
      throw ioError(`cannot open catalog ${path} read-only: its write-ahead log holds commits and SQLite cannot create its shared-memory file here (${code}); free some space or open the store where it is writable once`);
    }
    const uri = `file:${path.split('/').map(encodeURIComponent).join('/')}?immutable=1`;
    return guarded(path, 'cannot open catalog', () => new Database(uri, { readonly: true, fileMustExist: true }));
  }
}

function walBytes(path: string): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}
