/**
 * `verify` and `repair`: what the store can say about its own health. Verify re-reads every record a model
 * needs (or one model's), checking the record checksums and the SHA-256 identity of every decoded tensor, and
 * checks every catalog row against its checksum; it changes nothing. Repair lets the backend rebuild what it can
 * (a directory's lost or damaged manifest, from the segments), then verifies, so its report names every model
 * that lost tensors.
 */
import { NeurStoreError } from '../errors.js';
import type { Catalog, CatalogDamage, TensorRow } from '../catalog/catalog.js';
import type { Damage } from '../backend/backend.js';
import type { ProgressFn } from './store-types.js';

/** A tensor (or a model's architecture: tensor `(architecture)`) that cannot be read back. */
export interface TensorDamage {
  readonly model: string;
  readonly tensor: string;
  readonly code: string;
  readonly message: string;
}

export interface VerifyReport {
  /**
   * True when every model checked reads back in full and no catalog row is damaged. Damaged segment ranges
   * (`segments`) that cost no record a model needs do not make it false: `gc` reclaims them.
   */
  readonly ok: boolean;
  readonly modelsChecked: number;
  readonly tensorsChecked: number;
  /** Decoded bytes checked against their digests. */
  readonly bytesChecked: number;
  readonly catalog: readonly CatalogDamage[];
  /** Damaged places in the backend's records (segment ranges or pages holding no readable record). */
  readonly segments: readonly Damage[];
  readonly tensors: readonly TensorDamage[];
}

export interface RepairReport extends VerifyReport {
  /**
   * What the backend rebuilt before verifying (a directory store's manifest, from its segments): why (`missing`,
   * `damaged: ...`; null when intact, or for a database, which has none), records and segments found, where the
   * damaged one was kept.
   */
  readonly manifest: { readonly reason: string | null; readonly records: number; readonly savedAs: string | null; readonly segments: number };
}

export interface VerifyOptions {
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

const ARCHITECTURE = '(architecture)';

/** How verify reads what it checks: each read decodes and checks checksums and the SHA-256 identity. */
export interface CheckedReads {
  /** Reads tensor `row` of a model whose rows are `rows` (its tensors are read in order). */
  tensor(row: TensorRow, rows: readonly TensorRow[]): Promise<unknown>;
  architecture(key: bigint): Promise<unknown>;
}

/** Checks `names` (every model when undefined) through the catalog and `read`. */
export async function verifyModels(
  catalog: Catalog, read: CheckedReads, segments: readonly Damage[], names: string[] | undefined, options: VerifyOptions = {},
): Promise<VerifyReport> {
  const catalogDamage = names ? [] : await catalog.check();
  const all = names ?? (await intactModelNames(catalog, catalogDamage));
  const work: Array<{ model: string; architectureKey: bigint; rows: TensorRow[] }> = [];
  const tensors: TensorDamage[] = [];
  for (const name of all) {
    try {
      const model = await catalog.getModel(name);
      if (!model) throw new NeurStoreError('NOT_FOUND', `no model named '${name}'`);
      work.push({ model: name, architectureKey: model.architectureKey, rows: await catalog.tensors(name) });
    } catch (e) {
      if (names && (e as NeurStoreError).code === 'NOT_FOUND') throw e;
      tensors.push(damageOf(name, '(catalog row)', e));
    }
  }
  const total = work.reduce((n, w) => n + w.rows.reduce((m, r) => m + r.byteLength, 0), 0);
  let done = 0;
  let count = 0;
  for (const w of work) {
    await check(tensors, w.model, ARCHITECTURE, () => read.architecture(w.architectureKey));
    for (const r of w.rows) {
      options.signal?.throwIfAborted();
      await check(tensors, w.model, r.name, () => read.tensor(r, w.rows));
      done += r.byteLength;
      count++;
      options.onProgress?.({ phase: 'verify', done, total });
    }
  }
  const ok = catalogDamage.length === 0 && tensors.length === 0;
  return { ok, modelsChecked: work.length, tensorsChecked: count, bytesChecked: done, catalog: catalogDamage, segments, tensors };
}

/** Every model name as stored, but those whose rows are damaged (reported once, in `damage`). */
async function intactModelNames(catalog: Catalog, damage: readonly CatalogDamage[]): Promise<string[]> {
  const bad = new Set(damage.map((d) => d.model));
  return (await catalog.modelNames()).filter((n) => !bad.has(n));
}

async function check(out: TensorDamage[], model: string, tensor: string, read: () => Promise<unknown>): Promise<void> {
  try {
    await read();
  } catch (e) {
    if (!(e instanceof NeurStoreError) || e.code === 'IO_ERROR' || e.code === 'CONFLICT') throw e;
    out.push(damageOf(model, tensor, e));
  }
}

function damageOf(model: string, tensor: string, e: unknown): TensorDamage {
  return { model, tensor, code: (e as NeurStoreError).code ?? 'INTERNAL', message: (e as Error).message };
}
