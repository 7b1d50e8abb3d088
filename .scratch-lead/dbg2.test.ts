import { test } from 'node:test';
import { MemoryEnv } from '../src/env/memory-env.js';
import { SqliteCatalog } from '../src/catalog/sqlite/sqlite-catalog.js';
import { NeurStore } from '../src/store/neur-store.js';
import { safetensorsBytes } from '../src/store/testing/safetensors-files.js';
import { SeededRandom } from '../src/env/seeded-random.js';
test('dbg', async () => {
  const rng = new SeededRandom(1);
  const env = new MemoryEnv();
  await env.mkdir('in');
  await env.writeFile('in/a.safetensors', await safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [8, 256], bytes: rng.bytes(8192) }]));
  const store = await NeurStore.open('store', { env, catalog: new SqliteCatalog('/tmp/dbg2.sqlite'), create: true, chunkBytes: 2048 });
  console.log('opened');
  const r = await store.put('in/a.safetensors', { name: 'a' + Date.now() });
  console.log('put', r.tensors[0]!.codec);
  await store.close();
});
