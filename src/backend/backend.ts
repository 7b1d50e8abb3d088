/**
 * The backend contract: where a store keeps its records (immutable payloads by 64-bit key) and its catalog
 * (models, tags, tensors naming records). `NeurStore` talks to a `Backend` only; file names, SQL dialects and
 * locking live in the backend folders, which repeat the same file roles:
 *
 *   backend/sqlite/    the embedded default: a directory of segment files (engine/) and a SQLite catalog
 *   backend/postgres/  PostgreSQL: records as pages in a table, catalog tables beside them, one database
 *
 *   <name>-backend.ts  `Backend`: opens both halves, `write`, `stats`, `close`
 *   <name>-records.ts  `RecordStore` and `RecordWriter`
 *   <name>-catalog.ts  `Catalog` (catalog/catalog.ts)
 *   <name>-schema.ts   schema and migrations
 *
 * Write protocol (the only place it is written down; both backends keep it and `backend.case.ts` tests it):
 * 1. `write(fn)` takes the store's write lock for `fn`: exclusive for gc (`{ exclusive: true }`), shared for
 *    puts and removals where the backend lets writers run side by side (PostgreSQL), else exclusive (SQLite).
 * 2. Records `fn` appends are durable before the catalog rows that name them are committed, and a catalog
 *    commit never names a record that is not durable: a crash at any point leaves either the old state or the
 *    new one, plus at most unnamed records, which the next `gc` reclaims.
 * 3. When `fn` throws, nothing it wrote is kept in the catalog; records it appended are dropped (or left unnamed
 *    for gc), and the error is rethrown unchanged.
 * 4. Appending a key that exists is not an error: `append` returns false and writes nothing (two writers storing
 *    the same content at once store it once; the content layer then reads the existing record's identity).
 * 5. Readers never wait for writers: reads outside `write` see committed state as of their own call.
 * 6. A write may name a record it found without appending it (exact dedup). So that the write which appended it
 *    cannot then drop it (point 3), `has` inside a write does not show records another write has appended and
 *    not yet named: the finder appends instead, gets false (point 4) and so claims the record for itself.
 * 7. gc computes its live set inside its exclusive write, never before taking it.
 */
import type { Catalog, CatalogTx } from '../catalog/catalog.js';

/** A place in a backend that holds no readable record (a damaged segment range, a page that fails its check). */
export interface Damage {
  /** Where: a segment file path, or `table:key` in a database. */
  readonly file: string;
  readonly offset: number;
  /** Bytes that hold no locatable record (0 when none are lost). */
  readonly length: number;
  readonly message: string;
}

/** zlib's CRC-32 of a record's payload, computed where the caller likes (see RecordStore.get). */
export type PayloadCrc = (payload: Uint8Array) => Promise<number>;

/** Reads of records. Every method sees committed records, plus those appended by the caller's own open write. */
export interface RecordStore {
  has(key: bigint): Promise<boolean>;
  /**
   * The whole payload, checksum-verified. NOT_FOUND if absent; CORRUPTION naming the place if damaged. A backend
   * may read it into `alloc(n)` (memory of at least n bytes, the caller's: the result is then a view of it), and
   * one that checks a CRC-32 of the whole payload once it is read may have `crc` compute it (the caller's: on a
   * worker thread, say); the check and its errors stay the backend's.
   */
  get(key: bigint, alloc?: (n: number) => Uint8Array, crc?: PayloadCrc): Promise<Uint8Array>;
  /** Up to `length` leading payload bytes, unverified: only for cheap identity checks before a full read. */
  readPrefix(key: bigint, length: number): Promise<Uint8Array>;
  /** Damage found so far (while opening, refreshing or reading). */
  damaged(): Promise<readonly Damage[]>;
  /** Catches up with other processes' commits. */
  refresh(): Promise<void>;
  /** Committed records and the bytes they occupy in the backend. */
  stats(): Promise<{ records: number; bytes: number }>;
}

/** Record writes, valid only inside `Backend.write`. */
export interface RecordWriter {
  /**
   * Appends a record (payload given as parts, concatenated). False, writing nothing, when `key` exists. The
   * writer may keep the parts by reference until this resolves: the caller must not change them before, and
   * may reuse their memory after.
   */
  append(key: bigint, payload: Uint8Array | readonly Uint8Array[]): Promise<boolean>;
  /**
   * Deletes every record `isLive` rejects (only in an exclusive write: gc), keeping every live one intact.
   * A live record that fails its check stops it with CORRUPTION; what was reclaimed before stays reclaimed.
   */
  reclaim(isLive: (key: bigint) => boolean): Promise<{ recordsDropped: number; bytesReclaimed: number }>;
}

export interface BackendTx {
  readonly catalog: CatalogTx;
  readonly records: RecordWriter;
}

export interface WriteOptions {
  /** Take the write lock alone (gc); default shared where the backend allows it. */
  readonly exclusive?: boolean;
  /** Roll back even when `fn` resolves (a dry run): its result is returned, nothing is kept. */
  readonly rollback?: boolean;
  readonly signal?: AbortSignal;
}

export interface BackendStats {
  /** `sqlite` or `postgres`. */
  readonly kind: string;
  /** The directory, or the URL without its password. */
  readonly location: string;
  readonly records: number;
  /** Bytes the records occupy. */
  readonly recordBytes: number;
  /** Bytes the catalog occupies. */
  readonly catalogBytes: number;
}

export interface Backend {
  readonly kind: string;
  /** The directory, or the URL without its password (for messages). */
  readonly location: string;
  readonly readOnly: boolean;
  readonly catalog: Catalog;
  readonly records: RecordStore;
  /** Runs `fn` as one write under the protocol above. CONFLICT when read-only or the lock cannot be had in time. */
  write<T>(fn: (tx: BackendTx) => Promise<T>, options?: WriteOptions): Promise<T>;
  stats(): Promise<BackendStats>;
  close(): Promise<void>;
}
