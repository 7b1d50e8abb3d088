/**
 * Records of the embedded backend: the segment engine (engine/tensor-engine.ts) behind `RecordStore` and
 * `RecordWriter`. The engine's write batch is opened and closed by `SqliteBackend.write`; the writer only
 * appends to it and reclaims (compaction) inside it.
 */
import { NeurStoreError, ioError } from '../../errors.js';
import type { TensorEngine } from '../../engine/tensor-engine.js';
import type { Damage, PayloadCrc, RecordStore, RecordWriter } from '../backend.js';

export class SqliteRecords implements RecordStore {
  /** Records found damaged on reading (the engine lists only what indexing found), by key. */
  private readonly readDamage = new Map<bigint, Damage>();

  constructor(private readonly engine: TensorEngine) {}

  /** Looks past the in-memory index only outside a write (a write batch starts from the latest manifest). */
  async has(key: bigint): Promise<boolean> {
    if (this.engine.has(key)) return true;
    if (this.engine.isWriting) return false;
    await this.engine.refresh();
    return this.engine.has(key);
  }

  async get(key: bigint, alloc?: (n: number) => Uint8Array, crc?: PayloadCrc): Promise<Uint8Array> {
    try {
      return await this.engine.get(key, alloc, crc);
    } catch (e) {
      if (e instanceof NeurStoreError && e.code === 'CORRUPTION' && this.engine.has(key)) this.readDamage.set(key, damageOf(key, e));
      throw e;
    }
  }

  readPrefix(key: bigint, length: number): Promise<Uint8Array> {
    return this.engine.readPrefix(key, length);
  }

  /** What indexing found, and records found damaged on reading that are still stored (gc drops them). */
  async damaged(): Promise<readonly Damage[]> {
    const read = [...this.readDamage].filter(([k]) => this.engine.has(k)).map(([, d]) => d);
    return [...this.engine.damaged, ...read];
  }

  refresh(): Promise<void> {
    return this.engine.refresh();
  }

  async stats(): Promise<{ records: number; bytes: number }> {
    return { records: this.engine.recordCount, bytes: this.engine.diskBytes };
  }
}

/** The writer of one `SqliteBackend.write`: appends into the engine batch that write opened. */
export class SqliteRecordWriter implements RecordWriter {
  /** True once this write appended or reclaimed: the batch must then be committed. */
  changed = false;
  /** Appends run one at a time (the engine appends to one segment); callers may have several in flight. */
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * @param fullDisk set when the store was opened on a full disk: appends are refused (only `rm` and `gc`, which
   *   free space, may write until a `gc` has put the reserve back).
   */
  constructor(private readonly engine: TensorEngine, private readonly fullDisk: string | null) {}

  append(key: bigint, payload: Uint8Array | readonly Uint8Array[]): Promise<boolean> {
    const run = this.tail.then(async () => {
      if (this.fullDisk) throw fullDiskError(this.fullDisk);
      if (this.engine.has(key)) return false;
      this.changed = true;
      await this.engine.append(key, payload);
      return true;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  async reclaim(isLive: (key: bigint) => boolean): Promise<{ recordsDropped: number; bytesReclaimed: number }> {
    const recordsDropped = this.engine.keys().filter((k) => !isLive(k)).length;
    this.changed = true;
    const { bytesReclaimed } = await this.engine.compact(isLive);
    await this.engine.beginWrite(); // compaction commits its own batch: the write goes on in a fresh one
    return { recordsDropped, bytesReclaimed };
  }
}

/** The place a read's CORRUPTION names (`FILE at offset N: ...`, see errors.ts `corruption`). */
function damageOf(key: bigint, e: NeurStoreError): Damage {
  const m = /^(.*) at offset (\d+): ([^]*)$/.exec(e.message);
  return m ? { file: m[1]!, offset: Number(m[2]), length: 0, message: m[3]! } : { file: `record ${key.toString(16)}`, offset: 0, length: 0, message: e.message };
}

/** A put refused on a store opened on a full disk. */
export function fullDiskError(dir: string): NeurStoreError {
  return ioError(`the disk holding ${dir} is full: free space (\`neurstore rm\` then \`neurstore gc\` can run on a full disk)`);
}
