/**
 * Copies models between two stores (any backends: a directory, PostgreSQL) byte-exactly: the stored records are
 * moved as they are, never decoded and coded again, so a model reads back from the destination exactly as from
 * the source, in every mode (a lossy tensor keeps its very encoding, not just its bound).
 *
 * Per model: the records it needs are the closure gc walks (neur-store.ts `liveClosure`): its architecture, its
 * tensors' records and their catalog bases, then, through the records' own headers, the bases of those, and the
 * chunks of chunk lists. Each is read from the source checksum-verified and appended under the same key in the
 * destination; a key the destination already holds with the same identity (and, for a lossy record, the same
 * decoded digest) is taken as it is (dedup), one holding anything else is CONFLICT naming the key and the model.
 * Then the model's catalog rows (the same ModelRow and TensorRows) are inserted, in the same destination `write`,
 * so records are durable before the rows that name them (backend.ts, the write protocol); a failure keeps nothing
 * of that model.
 *
 * Resumable: a model the destination already holds with the same rows is skipped (reported as skipped); one
 * holding that name with other rows is CONFLICT, never overwritten. Every model asked for is scanned (and every
 * name and key checked against the destination) before the first write, so such a CONFLICT writes nothing.
 */
import { NeurStoreError, cancelled, conflict, notFound } from '../errors.js';
import type { ModelRow, TensorRow } from '../catalog/catalog.js';
import type { Backend } from '../backend/backend.js';
import type { NeurStore } from './neur-store.js';
import { Codec, MAX_PAYLOAD_HEADER_BYTES, decodePayloadHeader, sameDigest, type PayloadHeader } from './record-payload.js';
import { decodeChunkList } from './chunk-list.js';

/** Source payloads kept in memory between the scan and the write (the rest are read again, verified). */
const CACHE_BYTES = 64 * 1024 * 1024;

export interface CopyProgress {
  /** `copy`: record bytes appended to the destination or found there already, of those the copy needs. */
  readonly phase: 'copy';
  readonly done: number;
  readonly total: number;
  /** The model being copied. */
  readonly model: string;
}

export interface CopyOptions {
  onProgress?: (p: CopyProgress) => void;
  /** Stops the copy: models copied before stay, the model being copied is not listed (CANCELLED). */
  signal?: AbortSignal;
}

export interface CopiedModel {
  readonly name: string;
  /** `copied`, or `skipped`: the destination held it already, with the same rows. */
  readonly status: 'copied' | 'skipped';
  /** Records the model needs (its closure). */
  readonly records: number;
  /** Records appended to the destination for it (the others were there already: dedup). */
  readonly recordsCopied: number;
  /** Payload bytes appended for it. */
  readonly bytesCopied: number;
}

export interface CopyResult {
  readonly from: string;
  readonly to: string;
  readonly models: readonly CopiedModel[];
  readonly copied: number;
  readonly skipped: number;
  readonly recordsCopied: number;
  readonly bytesCopied: number;
}

/** A record of a model's closure, as the scan found it in the source. */
interface PlannedRecord {
  readonly key: bigint;
  readonly bytes: number;
  readonly identity: Uint8Array;
  readonly check?: Uint8Array;
  /** The records it needs: its base, a chunk list's chunks. */
  readonly needs: readonly bigint[];
}

interface ModelPlan {
  readonly model: ModelRow;
  readonly tensors: TensorRow[];
  /** Its closure, dependencies before the records that need them. */
  readonly records: PlannedRecord[];
  readonly skip: boolean;
}

/**
 * Copies `names` (every model of `from` when omitted) into `to`. NOT_FOUND when a name is not in the source;
 * CONFLICT when the destination holds that name with other rows, or a record key with other content;
 * CORRUPTION when a source record fails its checks (nothing of that model is written).
 */
export async function copyModels(from: NeurStore, to: NeurStore, names?: readonly string[], options: CopyOptions = {}): Promise<CopyResult> {
  const src = from.backend;
  const dst = to.backend;
  const wanted = names && names.length > 0 ? [...new Set(names)] : (await src.catalog.listModels()).map((m) => m.name);
  const scanned = new Map<bigint, PlannedRecord>();
  const cache = new Map<bigint, Uint8Array>();
  let cached = 0;
  const plans: ModelPlan[] = [];

  for (const name of wanted) {
    checkAborted(options.signal, name);
    const model = await src.catalog.getModel(name);
    if (!model) throw notFound(`no model named '${name}' in ${src.location}`);
    const tensors = await src.catalog.tensors(name);
    const present = await dst.catalog.getModel(name);
    if (present) {
      if (!sameRows(model, tensors, present, await dst.catalog.tensors(name))) throw nameTaken(name, dst);
      plans.push({ model, tensors, records: [], skip: true });
      continue;
    }
    const records: PlannedRecord[] = [];
    const visited = new Set<bigint>();
    const visit = async (key: bigint): Promise<void> => {
      if (visited.has(key)) return;
      visited.add(key);
      checkAborted(options.signal, name);
      let rec = scanned.get(key);
      if (!rec) {
        const payload = await readSource(src, key, name);
        const header = headerOf(payload, key, src);
        const check = header.check ? { check: Uint8Array.from(header.check) } : {};
        rec = { key, bytes: payload.length, identity: Uint8Array.from(header.identity), ...check, needs: dependenciesOf(payload, header, key, src) };
        scanned.set(key, rec);
        if (cached + payload.length <= CACHE_BYTES) {
          cache.set(key, payload);
          cached += payload.length;
        }
      }
      for (const k of rec.needs) await visit(k);
      records.push(rec);
    };
    const roots = [model.architectureKey, ...tensors.flatMap((t) => (t.baseKey === undefined ? [t.recordKey] : [t.baseKey, t.recordKey]))];
    for (const key of roots) await visit(key);
    // The destination's records with these keys must hold the same content (checked again inside the write).
    for (const rec of records) {
      if (await dst.records.has(rec.key)) checkSame(rec, headerOf(await dst.records.readPrefix(rec.key, MAX_PAYLOAD_HEADER_BYTES), rec.key, dst), name, dst);
    }
    plans.push({ model, tensors, records, skip: false });
  }

  // Bytes the copy will handle: each record needed once, however many models share it.
  const counted = new Set<bigint>();
  let total = 0;
  for (const r of plans.flatMap((p) => p.records)) {
    if (counted.has(r.key)) continue;
    counted.add(r.key);
    total += r.bytes;
  }
  let done = 0;
  const handled = new Set<bigint>(); // records committed in the destination by this copy
  const out: CopiedModel[] = [];
  for (const plan of plans) {
    const name = plan.model.name;
    if (plan.skip) {
      out.push({ name, status: 'skipped', records: 0, recordsCopied: 0, bytesCopied: 0 });
      continue;
    }
    let doneBefore = done;
    const result = await dst.write(async (tx) => {
      doneBefore = done;
      if (await tx.catalog.modelExists(name)) {
        // Another writer put it since the scan.
        if (!sameRows(plan.model, plan.tensors, (await dst.catalog.getModel(name))!, await dst.catalog.tensors(name))) throw nameTaken(name, dst);
        return null;
      }
      let recordsCopied = 0;
      let bytesCopied = 0;
      for (const rec of plan.records) {
        checkAborted(options.signal, name);
        if (handled.has(rec.key)) continue;
        if (await dst.records.has(rec.key)) await checkDestination(dst, rec, name);
        else {
          const payload = cache.get(rec.key) ?? (await readSource(src, rec.key, name));
          const header = headerOf(payload, rec.key, src);
          if (!sameContent(rec, header)) throw new NeurStoreError('CONFLICT', `record ${hex(rec.key)} of model '${name}' changed in ${src.location} during the copy; nothing of '${name}' was written, run the copy again`);
          if (await tx.records.append(rec.key, payload)) {
            recordsCopied++;
            bytesCopied += payload.length;
          } else {
            await checkDestination(dst, rec, name); // another writer stored that key meanwhile
          }
        }
        done += rec.bytes;
        options.onProgress?.({ phase: 'copy', done, total, model: name });
      }
      await tx.catalog.insertModel(plan.model, plan.tensors);
      return { recordsCopied, bytesCopied };
    }, { signal: options.signal }).catch((e: unknown) => {
      done = doneBefore;
      if (options.signal?.aborted && !(e instanceof NeurStoreError && e.code === 'CANCELLED')) throw cancelledCopy(name);
      throw e;
    });
    for (const r of plan.records) handled.add(r.key);
    out.push(result
      ? { name, status: 'copied', records: plan.records.length, ...result }
      : { name, status: 'skipped', records: plan.records.length, recordsCopied: 0, bytesCopied: 0 });
  }
  for (const k of counted) cache.delete(k);
  return {
    from: src.location,
    to: dst.location,
    models: out,
    copied: out.filter((m) => m.status === 'copied').length,
    skipped: out.filter((m) => m.status === 'skipped').length,
    recordsCopied: out.reduce((n, m) => n + m.recordsCopied, 0),
    bytesCopied: out.reduce((n, m) => n + m.bytesCopied, 0),
  };
}

/** A source record, whole and checksum-verified; a missing one is CORRUPTION naming the model that needs it. */
async function readSource(src: Backend, key: bigint, model: string): Promise<Uint8Array> {
  try {
    return await src.records.get(key);
  } catch (e) {
    if (e instanceof NeurStoreError && e.code === 'NOT_FOUND') {
      throw new NeurStoreError('CORRUPTION', `record ${hex(key)} that model '${model}' needs is missing in ${src.location}; run \`neurstore verify\` there`);
    }
    if (e instanceof NeurStoreError && e.code === 'CORRUPTION') {
      throw new NeurStoreError('CORRUPTION', `model '${model}' cannot be copied, nothing of it was written: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

function headerOf(payload: Uint8Array, key: bigint, where: Backend): PayloadHeader {
  return decodePayloadHeader(payload, `record ${hex(key)} in ${where.location}`);
}

/** The records a record needs: its base, and a chunk list's chunks. */
function dependenciesOf(payload: Uint8Array, header: PayloadHeader, key: bigint, where: Backend): bigint[] {
  const needs = header.codec === Codec.ChunkList
    ? decodeChunkList(payload.subarray(header.headerBytes), `record ${hex(key)} in ${where.location}`).chunks.map((c) => c.key)
    : [];
  if (header.base) needs.push(header.base.key);
  return needs;
}

/** A destination record with the key of `rec`: it must read back intact and hold the same content. */
async function checkDestination(dst: Backend, rec: PlannedRecord, model: string): Promise<void> {
  let payload: Uint8Array;
  try {
    payload = await dst.records.get(rec.key);
  } catch (e) {
    if (e instanceof NeurStoreError && e.code === 'CORRUPTION') {
      throw new NeurStoreError('CORRUPTION', `record ${hex(rec.key)} that model '${model}' needs is damaged in ${dst.location}, so it cannot be copied there (nothing of '${model}' was written): ${e.message}; run \`neurstore verify\` there`);
    }
    throw e;
  }
  checkSame(rec, headerOf(payload, rec.key, dst), model, dst);
}

function checkSame(rec: PlannedRecord, header: PayloadHeader, model: string, dst: Backend): void {
  if (!sameContent(rec, header)) {
    throw conflict(`record key ${hex(rec.key)} that model '${model}' needs holds other content in ${dst.location} (another encoding or another tensor); nothing of '${model}' was written`);
  }
}

/** Same identity, and for a lossy record the same digest of what it decodes to (so a `get` gives the same bytes). */
function sameContent(rec: PlannedRecord, header: PayloadHeader): boolean {
  if (!sameDigest(rec.identity, header.identity)) return false;
  if (!rec.check || !header.check) return !rec.check && !header.check;
  return sameDigest(rec.check, header.check);
}

function nameTaken(name: string, dst: Backend): NeurStoreError {
  return conflict(`${dst.location} already holds a model named '${name}' with other content; it is not overwritten (rm it there, or copy the others by name)`);
}

function checkAborted(signal: AbortSignal | undefined, model: string): void {
  if (signal?.aborted) throw cancelledCopy(model);
}

function cancelledCopy(model: string): NeurStoreError {
  return cancelled(`copy cancelled at model '${model}': models copied before it stay, nothing of it was written`);
}

/** The rows as the catalog keeps them, compared as canonical JSON (bigint keys as hex, absent fields left out). */
function sameRows(a: ModelRow, at: readonly TensorRow[], b: ModelRow, bt: readonly TensorRow[]): boolean {
  return canonical({ model: a, tensors: at }) === canonical({ model: b, tensors: bt });
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (typeof x === 'bigint') return hex(x);
    if (x && typeof x === 'object' && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
    }
    return x;
  });
}

function hex(key: bigint): string {
  return key.toString(16);
}
