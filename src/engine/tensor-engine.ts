/**
 * The tensor-native storage engine: records (64-bit key -> bytes) appended in pages to segment files, found
 * through an in-memory KeyIndex, committed by switching the manifest. It knows nothing of models or tensors.
 *
 * Writes happen in batches: `beginWrite` (the caller holds the store's writer lock, so one process writes at a
 * time), `append`..., then `commit` (pages fsynced, then the manifest switched) or `abort`. A crash before the
 * manifest switch leaves bytes past the committed length, which the next `beginWrite` cuts off. Any number of
 * readers, in this process or others, read concurrently; a reader that misses a key or a segment catches up
 * with the manifest and retries.
 *
 * Damage stays local and nothing is ever deleted on a guess: a damaged or missing segment, segment header or
 * record header is recorded in `damaged` and costs only the records it covers (the scanner resynchronises to
 * the next valid header); a missing manifest beside existing segments is CORRUPTION until
 * `rebuildManifestIfNeeded` (engine-repair.ts) restores it; segment files the manifest does not name are deleted
 * only when they are uncommitted (numbered past `nextSegmentId`) or every record in them is indexed elsewhere.
 */
import { NeurStoreError, conflict, corruption, invalidArgument, notFound } from '../errors.js';
import { joinPath, type Env, type EnvFile } from '../env/env.js';
import type { KeyIndex } from './key-index.js';
import { FineIndex } from '../learned-index/fine-index.js';
import { EMPTY_MANIFEST, MANIFEST_FILE, readManifest, writeManifest, type Manifest, type SegmentEntry } from './manifest.js';
import {
  MAX_RECORD_BYTES, PAGE_BYTES, RECORD_HEADER_BYTES, SEGMENT_BYTES, SEGMENT_HEADER_BYTES,
  checkSegmentHeader, decodeRecordHeader, encodeRecordHeader, encodeSegmentHeader, payloadChecksumOk,
} from './record-format.js';
import { scanSegment } from './segment-scanner.js';
import { SEGMENTS_DIR, segmentIdOf, segmentPath } from './segment-files.js';
import { SegmentWriter } from './segment-writer.js';

export interface EngineOptions {
  /** Makes the in-memory index (default: FINEdex, `FineIndex.create()`; `MapKeyIndex` is the simple oracle). */
  createIndex?: () => KeyIndex;
  segmentBytes?: number;
  pageBytes?: number;
  /** Never write (no directory creation, `beginWrite` refused): for reads on a full or read-only disk. */
  readOnly?: boolean;
}

interface Segment {
  readonly id: number;
  readonly path: string;
  /** Null when the file the manifest names is missing (recorded as damage). */
  readonly file: EnvFile | null;
  /** Bytes indexed so far (committed length as of the last manifest read, or more while writing). */
  length: number;
}

export interface Damage {
  readonly file: string;
  readonly offset: number;
  /** Bytes that hold no locatable record (0 for a damaged segment header, which costs no records). */
  readonly length: number;
  readonly message: string;
}

const OFFSET_BITS = 40n;
const OFFSET_MASK = (1n << OFFSET_BITS) - 1n;
const packLocation = (segment: number, offset: number): bigint => (BigInt(segment) << OFFSET_BITS) | BigInt(offset);

export class TensorEngine {
  private manifest: Manifest = EMPTY_MANIFEST;
  private segments = new Map<number, Segment>();
  private index: KeyIndex;
  private damage: Damage[] = [];
  private writer: SegmentWriter | null = null;
  private writing = false;
  private readonly segmentBytes: number;
  private readonly pageBytes: number;

  private constructor(
    private readonly env: Env,
    readonly dir: string,
    private readonly options: EngineOptions,
  ) {
    this.index = (options.createIndex ?? (() => FineIndex.create()))();
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES;
    this.pageBytes = options.pageBytes ?? PAGE_BYTES;
  }

  /** Opens (or creates) the engine in `dir` and indexes every committed record. */
  static async open(env: Env, dir: string, options: EngineOptions = {}): Promise<TensorEngine> {
    if (!options.readOnly) await env.mkdir(joinPath(dir, SEGMENTS_DIR));
    const engine = new TensorEngine(env, dir, options);
    try {
      // A new store gets its (empty) manifest at once, so segment files without a manifest always mean a lost one.
      if (!options.readOnly && (await readManifest(env, dir)) === null && (await engine.segmentFiles()).length === 0) {
        await writeManifest(env, dir, EMPTY_MANIFEST);
      }
      await engine.load(await engine.readManifest());
    } catch (e) {
      await engine.close().catch(() => undefined);
      throw e;
    }
    return engine;
  }

  get recordCount(): number {
    return this.index.size;
  }

  /** Damage found while indexing: missing or damaged segments, segment headers and record headers. */
  get damaged(): readonly Damage[] {
    return this.damage;
  }

  /** Committed bytes of all segments: what the engine occupies on disk. */
  get diskBytes(): number {
    return this.manifest.segments.reduce((n, s) => n + s.length, 0);
  }

  /** True between `beginWrite` and `commit`/`abort`/`release`. */
  get isWriting(): boolean {
    return this.writing;
  }

  has(key: bigint): boolean {
    return this.index.get(key) !== undefined;
  }

  /** Every indexed key in ascending order. */
  keys(): bigint[] {
    return this.index.scan(0n, this.index.size).map(([k]) => k);
  }

  /**
   * The record's payload, checksum-verified. NOT_FOUND if absent; CORRUPTION naming file and offset if damaged.
   * `alloc(n)`: memory of at least n bytes to read the payload into (the result is then a view of it); `crc`:
   * computes the payload's CRC-32 for the check (default: zlib's crc32 on this thread).
   */
  async get(key: bigint, alloc?: (n: number) => Uint8Array, crc?: (payload: Uint8Array) => Promise<number>): Promise<Uint8Array> {
    if (this.index.get(key) === undefined && !this.writing) await this.refresh();
    const loc = this.index.get(key);
    if (loc === undefined) throw this.missing(key);
    try {
      return await this.readAt(loc, key, -1, alloc, crc);
    } catch (e) {
      // Another process may have compacted the segment away; catch up once and retry.
      if (this.writing || !(e instanceof NeurStoreError) || e.code === 'CORRUPTION') throw e;
      await this.load(await this.readManifest());
      const again = this.index.get(key);
      if (again === undefined) throw this.missing(key);
      return this.readAt(again, key, -1, alloc, crc);
    }
  }

  /** Up to `length` leading payload bytes, unverified: only for cheap identity checks before a full read. */
  async readPrefix(key: bigint, length: number): Promise<Uint8Array> {
    const loc = this.index.get(key);
    if (loc === undefined) throw this.missing(key);
    return this.readAt(loc, key, length);
  }

  /** Starts a write batch. The caller must hold the store's writer lock until `commit` or `abort`. */
  async beginWrite(): Promise<void> {
    if (this.options.readOnly) throw conflict('the store is open read-only');
    if (this.writing) throw conflict('a write batch is already open on this engine');
    const m = await this.readManifest();
    if (m.generation !== this.manifest.generation) await this.load(m);
    await this.removeUncommitted();
    this.writing = true;
  }

  /** Appends a record; the key must be new. Visible to `get` at once, durable after `commit`. */
  async append(key: bigint, payload: Uint8Array | readonly Uint8Array[]): Promise<void> {
    if (this.index.get(key) !== undefined) throw conflict(`record ${key.toString(16)} already exists`);
    await this.put(key, payload);
  }

  /** Makes the batch durable: pages fsynced first, then the manifest switched. */
  async commit(): Promise<void> {
    this.requireWriting();
    if (this.writer) {
      await this.writer.sync();
      this.segments.get(this.writer.segmentId)!.length = this.writer.length;
    }
    await this.env.syncDir(joinPath(this.dir, SEGMENTS_DIR));
    await this.switchManifest([...this.segments.values()].map((s) => ({ id: s.id, length: s.length })));
    this.writing = false;
  }

  /** Ends a batch that appended nothing, writing nothing (no manifest switch, no reload). */
  release(): void {
    this.requireWriting();
    this.writing = false;
  }

  /** Drops everything appended since `beginWrite`. */
  async abort(): Promise<void> {
    if (!this.writing) return;
    await this.closeWriter(false);
    this.writing = false;
    await this.load(await this.readManifest());
    await this.removeUncommitted(); // still under the writer lock: give the space back now
  }

  /**
   * Rewrites every segment holding records that `isLive` rejects, copying live records (verified) into new
   * segments, and deletes the old files after the manifest no longer names them. Runs inside a write batch and
   * commits it. Segments with no live record go first, one manifest switch for all (that needs no free space);
   * then each mixed segment is copied and dropped on its own, so a full disk still gets space back. A live
   * record that fails its checksum stops compaction with CORRUPTION: what was committed before stays, nothing
   * live is lost. The caller checks first that every live record is indexed (see NeurStore.gc).
   */
  async compact(isLive: (key: bigint) => boolean): Promise<{ segmentsRewritten: number; bytesReclaimed: number }> {
    this.requireWriting();
    const before = this.diskBytes;
    const bySegment = new Map<number, Array<[bigint, bigint]>>();
    for (const [key, loc] of this.index.scan(0n, this.index.size)) {
      const seg = Number(loc >> OFFSET_BITS);
      let list = bySegment.get(seg);
      if (!list) bySegment.set(seg, (list = []));
      list.push([key, loc]);
    }
    const records = (id: number): Array<[bigint, bigint]> => bySegment.get(id) ?? [];
    const dead = [...this.segments.keys()].filter((id) => !records(id).some(([k]) => isLive(k)));
    const mixed = [...this.segments.keys()].filter((id) => !dead.includes(id) && records(id).some(([k]) => !isLive(k)));
    await this.closeWriter(true); // new records must not land in a segment being rewritten
    if (dead.length > 0) await this.dropSegments(dead, (id) => records(id));
    for (const id of mixed) {
      for (const [key, loc] of records(id)) {
        if (isLive(key)) await this.put(key, await this.readAt(loc, key, -1));
      }
      await this.dropSegments([id], (i) => records(i).filter(([k]) => !isLive(k)));
    }
    if (dead.length + mixed.length === 0) await this.commit();
    this.writing = false;
    return { segmentsRewritten: dead.length + mixed.length, bytesReclaimed: Math.max(0, before - this.diskBytes) };
  }

  /** Commits what was appended, switches to a manifest without segments `ids`, then deletes their files. */
  private async dropSegments(ids: number[], forget: (id: number) => Array<[bigint, bigint]>): Promise<void> {
    if (this.writer) {
      await this.writer.sync();
      this.segments.get(this.writer.segmentId)!.length = this.writer.length;
    }
    await this.env.syncDir(joinPath(this.dir, SEGMENTS_DIR));
    const dropped = new Set(ids);
    const keep = [...this.segments.values()].filter((s) => !dropped.has(s.id));
    await this.switchManifest(keep.map((s) => ({ id: s.id, length: s.length })));
    for (const id of ids) {
      for (const [key, loc] of forget(id)) if (this.index.get(key) === loc) this.index.delete(key);
      const seg = this.segments.get(id)!;
      await seg.file?.close();
      this.segments.delete(id);
      this.damage = this.damage.filter((d) => d.file !== seg.path);
      await this.env.remove(seg.path);
    }
    await this.env.syncDir(joinPath(this.dir, SEGMENTS_DIR));
  }

  /** Catches up with commits of other processes (cheaply when segments only grew). */
  async refresh(): Promise<void> {
    const m = await this.readManifest();
    if (m.generation === this.manifest.generation) return;
    const grewOnly = this.manifest.segments.every((old) => m.segments.some((s) => s.id === old.id && s.length >= old.length));
    if (!grewOnly) return this.load(m);
    for (const entry of m.segments) await this.indexSegment(entry, this.segments.get(entry.id)?.length);
    this.manifest = m;
  }

  async close(): Promise<void> {
    await this.closeWriter(false);
    for (const s of this.segments.values()) await s.file?.close();
    this.segments.clear();
    this.index.close?.();
  }

  // ---- internals ----

  private requireWriting(): void {
    if (!this.writing) throw conflict('no write batch is open: call beginWrite first');
  }

  private missing(key: bigint): NeurStoreError {
    const d = this.damage[0];
    if (d) {
      const more = this.damage.length > 1 ? ` (and ${this.damage.length - 1} more damaged places)` : '';
      return corruption(d.file, d.offset, `record ${key.toString(16)} not found, and the store is damaged here: ${d.message}${more}; run \`neurstore repair\``);
    }
    return notFound(`record ${key.toString(16)} is not in the store`);
  }

  private async segmentFiles(): Promise<string[]> {
    return (await this.env.list(joinPath(this.dir, SEGMENTS_DIR))).filter((n) => segmentIdOf(n) !== null);
  }

  /** The manifest; CORRUPTION when it is missing although segment files exist (nothing is deleted then). */
  private async readManifest(): Promise<Manifest> {
    const m = await readManifest(this.env, this.dir);
    if (m) return m;
    const segs = await this.segmentFiles();
    if (segs.length === 0) return EMPTY_MANIFEST;
    throw corruption(joinPath(this.dir, MANIFEST_FILE), 0,
      `the manifest is missing but ${segs.length} segment file(s) exist; nothing was deleted: run \`neurstore repair\` to rebuild it`);
  }

  /** Appends one record, its payload given whole or in parts (written as they are: no copy joins them). */
  private async put(key: bigint, payload: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.requireWriting();
    const parts = payload instanceof Uint8Array ? [payload] : payload;
    const length = parts.reduce((n, p) => n + p.length, 0);
    if (length > MAX_RECORD_BYTES) throw invalidArgument(`record of ${length} bytes exceeds the 4 GiB record limit`);
    const record = [encodeRecordHeader(key, parts), ...parts];
    const writer = await this.writerFor(RECORD_HEADER_BYTES + length);
    const offset = await writer.add(record);
    this.segments.get(writer.segmentId)!.length = writer.length;
    this.index.set(key, packLocation(writer.segmentId, offset));
  }

  private async writerFor(bytes: number): Promise<SegmentWriter> {
    const w = this.writer;
    if (w && (w.length + bytes <= this.segmentBytes || w.length === SEGMENT_HEADER_BYTES)) return w;
    await this.closeWriter(true);
    const id = this.manifest.nextSegmentId;
    this.manifest = { ...this.manifest, nextSegmentId: id + 1 };
    const path = segmentPath(this.dir, id);
    const file = await this.env.openAppend(path);
    await file.append(encodeSegmentHeader(id));
    this.segments.set(id, { id, path, file: await this.env.openRead(path), length: SEGMENT_HEADER_BYTES });
    this.writer = new SegmentWriter(id, file, SEGMENT_HEADER_BYTES, this.pageBytes);
    return this.writer;
  }

  /**
   * Stops appending to the current segment. `keep` syncs what was appended (a segment rolled over mid-batch
   * must be durable before the manifest names its length); otherwise buffered bytes are dropped (abort).
   */
  private async closeWriter(keep: boolean): Promise<void> {
    const w = this.writer;
    if (!w) return;
    this.writer = null;
    try {
      if (keep) await w.sync();
    } finally {
      await w.close();
    }
  }

  private async readAt(loc: bigint, key: bigint, prefix: number, alloc?: (n: number) => Uint8Array, crc?: (payload: Uint8Array) => Promise<number>): Promise<Uint8Array> {
    const seg = this.segments.get(Number(loc >> OFFSET_BITS));
    if (!seg?.file) throw notFound(`segment ${Number(loc >> OFFSET_BITS)} is gone`);
    const offset = Number(loc & OFFSET_MASK);
    if (this.writer?.segmentId === seg.id && this.writer.isBuffered(offset)) await this.writer.flush();
    if (offset + RECORD_HEADER_BYTES > seg.length) throw corruption(seg.path, offset, `record lies past the segment's committed length ${seg.length}`);
    const header = decodeRecordHeader(await this.readSegment(seg, offset, RECORD_HEADER_BYTES));
    if (!header) throw corruption(seg.path, offset, 'record header checksum mismatch');
    if (header.key !== key) throw corruption(seg.path, offset, `record holds key ${header.key.toString(16)}, expected ${key.toString(16)}`);
    const length = prefix < 0 ? header.length : Math.min(prefix, header.length);
    const payload = await this.readSegment(seg, offset + RECORD_HEADER_BYTES, length, alloc?.(length));
    const intact = prefix >= 0 || (crc ? (await crc(payload)) === header.payloadCrc : payloadChecksumOk(header, payload));
    if (!intact) throw corruption(seg.path, offset, 'record payload checksum mismatch');
    return payload;
  }

  /** A read inside a segment; a file cut shorter than its committed length is CORRUPTION, not an I/O error. */
  private async readSegment(seg: Segment, offset: number, length: number, into?: Uint8Array): Promise<Uint8Array> {
    try {
      return await seg.file!.read(offset, length, into);
    } catch (e) {
      if (!(e instanceof NeurStoreError) || e.code !== 'IO_ERROR') throw e;
      const size = await seg.file!.size().catch(() => -1);
      if (size >= 0 && size < offset + length) throw corruption(seg.path, offset, `segment is truncated to ${size} bytes (the manifest commits ${seg.length})`);
      throw e;
    }
  }

  /** Full rebuild of segments and index from a manifest. */
  private async load(m: Manifest): Promise<void> {
    await this.closeWriter(false);
    for (const s of this.segments.values()) await s.file?.close();
    this.segments = new Map();
    this.damage = [];
    // Gather every record, then bulk-load the index once: far cheaper than inserting key by key.
    const pairs = new Map<bigint, bigint>();
    for (const entry of m.segments) await this.indexSegment(entry, undefined, (k, loc) => pairs.set(k, loc));
    this.index.bulkLoad([...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    this.manifest = m;
  }

  /**
   * Indexes the records of `entry` from `from` (or the start) to its committed length, through `add`. A missing
   * file, a damaged segment header, a file shorter than committed and damaged record headers are recorded in
   * `damage`; every record that can still be located is indexed.
   */
  private async indexSegment(
    entry: SegmentEntry,
    from: number | undefined,
    add: (key: bigint, location: bigint) => void = (k, loc) => this.index.set(k, loc),
  ): Promise<void> {
    const path = segmentPath(this.dir, entry.id);
    let seg = this.segments.get(entry.id);
    if (!seg) {
      const file = await this.env.openRead(path).catch((e: unknown) => {
        if (e instanceof NeurStoreError && e.code === 'NOT_FOUND') return null;
        throw e;
      });
      seg = { id: entry.id, path, file, length: SEGMENT_HEADER_BYTES };
      this.segments.set(entry.id, seg);
      if (!file) {
        this.damage.push({ file: path, offset: 0, length: entry.length, message: 'segment file is missing' });
        return;
      }
      const problem = checkSegmentHeader(await file.read(0, Math.min(SEGMENT_HEADER_BYTES, entry.length, await file.size())), entry.id);
      if (problem) this.damage.push({ file: path, offset: 0, length: 0, message: problem });
    }
    if (!seg.file) return;
    let to = entry.length;
    const size = await seg.file.size();
    if (size < to) {
      this.damage.push({ file: path, offset: size, length: to - size, message: `segment is truncated to ${size} bytes (the manifest commits ${to})` });
      to = size;
    }
    const start = from ?? SEGMENT_HEADER_BYTES;
    const result = await scanSegment(seg.file, start, to, (r) => add(r.key, packLocation(entry.id, r.offset)));
    for (const d of result.damage) this.damage.push({ file: path, ...d });
    seg.length = entry.length;
  }

  /**
   * Cuts bytes past the committed length of each segment and deletes segment files the manifest does not name:
   * those numbered from `nextSegmentId` on (an unfinished batch's), and older ones (left by a compaction cut
   * between its manifest switch and the unlink) only when every record in them is indexed elsewhere.
   */
  private async removeUncommitted(): Promise<void> {
    for (const seg of this.segments.values()) {
      if (!seg.file) continue;
      const file = await this.env.openAppend(seg.path);
      try {
        if ((await file.size()) > seg.length) await file.truncate(seg.length);
      } finally {
        await file.close();
      }
    }
    const named = new Set(this.manifest.segments.map((s) => s.id));
    for (const name of await this.env.list(joinPath(this.dir, SEGMENTS_DIR))) {
      const id = segmentIdOf(name);
      if (id === null || named.has(id)) continue;
      const path = joinPath(this.dir, SEGMENTS_DIR, name);
      if (id >= this.manifest.nextSegmentId || (await this.coveredElsewhere(path))) await this.env.remove(path);
    }
  }

  /** True when every record of an unnamed segment file is indexed in a segment the manifest names. */
  private async coveredElsewhere(path: string): Promise<boolean> {
    const file = await this.env.openRead(path);
    try {
      let covered = true;
      const result = await scanSegment(file, SEGMENT_HEADER_BYTES, await file.size(), (r) => {
        if (this.index.get(r.key) === undefined) covered = false;
      });
      return covered && result.damage.every((d) => d.message === 'record header is cut short');
    } finally {
      await file.close();
    }
  }

  private async switchManifest(segments: SegmentEntry[]): Promise<void> {
    const next: Manifest = { generation: this.manifest.generation + 1, nextSegmentId: this.manifest.nextSegmentId, segments };
    await writeManifest(this.env, this.dir, next);
    this.manifest = next;
  }
}
