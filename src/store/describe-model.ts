/**
 * `describe(store, name)`: a model as `info` gives it, with each tensor's base named: the model and tensor its
 * base record was first stored for (`model/tensor`), or the record key in hex when no tensor holds that record
 * (a paper-mode 8-bit base). What `neurstore info`, the SQL `tensors` table and any other face show as BASE.
 */
import type { TensorRow } from '../catalog/catalog.js';
import type { NeurStore } from './neur-store.js';
import type { ModelDetails } from './store-types.js';

/** What describing needs of a store (a NeurStore, or anything answering the same two calls). */
export type DescribableStore = Pick<NeurStore, 'info' | 'tensorOfRecord'>;

export type DescribedTensor = TensorRow & {
  /** `model/tensor` of the record this tensor decodes against, its key in hex if no tensor holds it; absent without a base. */
  readonly base?: string;
};

export interface ModelDescription extends Omit<ModelDetails, 'tensors'> {
  readonly tensors: readonly DescribedTensor[];
}

/** The model and tensor a record was first stored for. */
export interface RecordOwner {
  readonly model: string;
  readonly tensor: string;
}

/**
 * The record a tensor's values come from when they are not its own: its base (a delta's), or for a duplicate the
 * record it shares. Undefined for a tensor stored on its own.
 */
export function sourceKey(t: Pick<TensorRow, 'baseKey' | 'storedAs' | 'recordKey'>): bigint | undefined {
  return t.baseKey ?? (t.storedAs === 'duplicate' ? t.recordKey : undefined);
}

/**
 * Names base records, each looked up once: share one between `describe` calls over many models (a base is
 * usually shared by a whole family).
 */
export class BaseNames {
  private readonly owners = new Map<bigint, Promise<RecordOwner | undefined>>();

  constructor(private readonly store: Pick<NeurStore, 'tensorOfRecord'>) {}

  /** The model and tensor the record was first stored for (undefined when no tensor holds it). */
  ownerOf(key: bigint): Promise<RecordOwner | undefined> {
    let owner = this.owners.get(key);
    if (owner === undefined) {
      owner = this.store.tensorOfRecord(key);
      this.owners.set(key, owner);
    }
    return owner;
  }

  /** `model/tensor` the record was first stored for, else the key in hex. */
  async nameOf(key: bigint): Promise<string> {
    const b = await this.ownerOf(key);
    return b ? `${b.model}/${b.tensor}` : key.toString(16);
  }
}

/** The model's details with every tensor's base named (NOT_FOUND when there is no such model). */
export async function describe(store: DescribableStore, name: string, names: BaseNames = new BaseNames(store)): Promise<ModelDescription> {
  const m = await store.info(name);
  const tensors: DescribedTensor[] = [];
  for (const t of m.tensors) tensors.push({ ...t, base: t.baseKey === undefined ? undefined : await names.nameOf(t.baseKey) });
  return { ...m, tensors };
}
