/**
 * describe(store, name): the model's info with every base named. Oracles: the lookup `neurstore info` did
 * itself before it moved here (kept below as it was), the known names of a seeded family (`tuned/w` is a delta of
 * `base/w`), and a stub store for a base no tensor holds (named by its key in hex) and for the lookups' count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../errors.js';
import { BaseNames, describe, sourceKey, type DescribableStore } from './describe-model.js';
import { toJson } from './json-keys.js';
import type { NeurStore } from './neur-store.js';
import type { ModelDetails } from './store-types.js';
import { tinyFamily } from './testing/tiny-family.js';

/** What `neurstore info NAME --json` computed in src/cli/main.ts before describe existed (the oracle). */
async function previousCliInfo(s: NeurStore, name: string): Promise<unknown> {
  const m = await s.info(name);
  const bases = new Map<bigint, string>();
  for (const t of m.tensors) {
    if (t.baseKey !== undefined && !bases.has(t.baseKey)) {
      const b = await s.tensorOfRecord(t.baseKey);
      bases.set(t.baseKey, b ? `${b.model}/${b.tensor}` : t.baseKey.toString(16));
    }
  }
  const tensors = m.tensors.map((t) => ({ ...t, base: t.baseKey === undefined ? undefined : bases.get(t.baseKey) }));
  return { ...m, tensors };
}

test('describe names a fine-tune\'s bases as the previous CLI did: tuned/w is a delta of base/w', async () => {
  const { store } = await tinyFamily();
  try {
    for (const name of ['base', 'tuned']) {
      const d = await describe(store, name);
      assert.equal(toJson(d), toJson(await previousCliInfo(store, name)), `${name}: same JSON as info --json printed`);
      const { tensors, ...model } = d;
      const info = await store.info(name);
      const { tensors: rows, ...infoModel } = info;
      assert.deepEqual(model, infoModel, 'the model fields are info\'s');
      assert.deepEqual(tensors.map(({ base: _b, ...t }) => t), rows, 'the tensor rows are info\'s');
    }
    const tuned = await describe(store, 'tuned');
    assert.deepEqual(tuned.tensors.map((t) => [t.name, t.storedAs, t.base]), [
      ['w', 'delta', 'base/w'], ['b', 'duplicate', undefined], ['ids', 'duplicate', undefined],
    ]);
    assert.ok((await describe(store, 'base')).tensors.every((t) => t.base === undefined), 'the base has no bases');
    await assert.rejects(describe(store, 'nope'), (e) => isNeurStoreError(e, 'NOT_FOUND'));
  } finally {
    await store.close();
  }
});

/** A store answering info and tensorOfRecord from memory, counting the lookups. */
function stubStore(details: ModelDetails, owners: Map<bigint, { model: string; tensor: string }>): DescribableStore & { lookups: number } {
  const s = {
    lookups: 0,
    info: async () => details,
    tensorOfRecord: async (key: bigint) => {
      s.lookups++;
      return owners.get(key);
    },
  };
  return s;
}

const row = (index: number, baseKey?: bigint) => ({
  index, name: `t${index}`, dtype: 'F32', shape: [2], byteLength: 8, recordKey: BigInt(100 + index), storedAs: 'delta' as const,
  codec: 'group-delta' as const, baseKey, depth: baseKey === undefined ? 0 : 1, storedBytes: 4, bits: 16, maxError: 0.001,
});

test('a base no tensor holds is named by its key in hex; each base is looked up once, across models too', async () => {
  const details = {
    name: 'm', format: 'safetensors', createdMs: 0, bytesIn: 24, files: ['m.safetensors'], architectureKey: 1n, mode: 'paper',
    tolerance: 0.001, tensorCount: 3, storedBytes: 12, metadata: {}, tags: {}, maxError: 0.001,
    tensors: [row(0, 0xfeedn), row(1, 7n), row(2, 0xfeedn), row(3)],
  } as unknown as ModelDetails;
  const s = stubStore(details, new Map([[7n, { model: 'other', tensor: 'x' }]]));
  const d = await describe(s, 'm');
  assert.deepEqual(d.tensors.map((t) => t.base), ['feed', 'other/x', 'feed', undefined]);
  assert.equal(s.lookups, 2, 'two distinct bases, two lookups');
  const names = new BaseNames(s);
  await describe(s, 'm', names);
  await describe(s, 'm', names);
  assert.equal(s.lookups, 4, 'a shared BaseNames looks each base up once over both calls');
});

test('sourceKey: a delta\'s base, a duplicate\'s shared record, nothing for a tensor stored alone; ownerOf names them', async () => {
  assert.equal(sourceKey({ baseKey: 5n, storedAs: 'delta', recordKey: 9n }), 5n);
  assert.equal(sourceKey({ baseKey: undefined, storedAs: 'duplicate', recordKey: 9n }), 9n);
  assert.equal(sourceKey({ baseKey: undefined, storedAs: 'standalone', recordKey: 9n }), undefined);
  const { store } = await tinyFamily();
  try {
    const names = new BaseNames(store);
    const owners = [];
    for (const t of (await store.info('tuned')).tensors) {
      const key = sourceKey(t);
      owners.push(key === undefined ? undefined : await names.ownerOf(key));
    }
    assert.deepEqual(owners, [{ model: 'base', tensor: 'w' }, { model: 'base', tensor: 'b' }, { model: 'base', tensor: 'ids' }],
      'tuned/w is a delta of base/w; tuned/b and tuned/ids are base\'s records');
  } finally {
    await store.close();
  }
});
