/**
 * Records of the embedded backend: the segment engine (engine/tensor-engine.ts) behind `RecordStore` and
 * `RecordWriter`. The engine's write batch is opened and closed by `SqliteBackend.write`; the writer only
 * appends to it and reclaims (compaction) inside it.
 */
import { ioError } from '../../errors.js';
import type { TensorEngine } from '../../engine/tensor-engine.js';
import type { Damage, RecordStore, RecordWriter } from '../backend.js';

export class SqliteRecords implements RecordStore {
  constructor(private readonly engine: TensorEngine) {}

  /** Looks past the in-memory index only outside a write (a write batch starts from the latest manifest). */
  async has(key: bigint): Promise<boolean> {
    if (this.engine.has(key)) return true;
    if (this.engine.isWriting) return false;
    await this.engine.refresh();
    return this.engine.has(key);
  }

  get(key: bigint): Promise<Uint8Array> {
    return this.engine.get(key);
  }

  readPrefix(key: bigint, length: number): Promise<Uint8Array> {
    return this.engine.readPrefix(key, length);
  }

  async damaged(): Promise<readonly Damage[]> {
    return this.engine.damaged;
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
      if (this.fullDisk) throw ioError(`the disk holding ${this.fullDisk} is full: free space (\`neurstore rm\` then \`neurstore gc\` can run on a full disk)`);
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
