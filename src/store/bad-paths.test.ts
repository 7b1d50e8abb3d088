/** Paths with NUL bytes, from the caller or from inside a model file, are INVALID_ARGUMENT and store nothing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';

test('a NUL byte in a path the caller gives, or in a shard path a TF.js model names, is INVALID_ARGUMENT', async () => {
  const root = tempDir();
  const store = await NeurStore.init(join(root, 'store'));
  const model = join(root, 'tfjs');
  mkdirSync(model);
  const manifest = [{ paths: ['weights\u0000.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }];
  writeFileSync(join(model, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: manifest }));
  writeFileSync(join(model, 'weights.bin'), Buffer.alloc(8));
  await assert.rejects(store.put(join(model, 'model.json'), { name: 'nul-shard' }), (e: Error) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /NUL byte/.test(e.message));
  await assert.rejects(store.put(`${model}\u0000x`, { name: 'nul-path' }), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  await assert.rejects(store.get('nul-shard', join(root, 'out\u0000.json')), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
  assert.deepEqual(await store.list(), []);
  await store.close();
});
