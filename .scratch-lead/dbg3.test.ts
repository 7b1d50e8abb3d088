import { test } from 'node:test';
import { MemoryEnv } from '../src/env/memory-env.js';
import { FaultEnv } from '../src/env/fault-env.js';
import { SqliteCatalog } from '../src/catalog/sqlite/sqlite-catalog.js';
import { NeurStore } from '../src/store/neur-store.js';
import { safetensorsBytes } from '../src/store/testing/safetensors-files.js';
import { SeededRandom } from '../src/env/seeded-random.js';
import { writeSync } from 'node:fs';
const log = (s: string) => writeSync(2, s + '\n');
test('dbg', async () => {
  const rng = new SeededRandom(1);
  const env = new MemoryEnv();
  await env.mkdir('in');
  await env.writeFile('in/a.safetensors', await safetensorsBytes([{ name: 'x', dtype: 'F32', shape: [8, 256], bytes: rng.bytes(8192) }, { name: 'y', dtype: 'F32', shape: [8, 300], bytes: rng.bytes(9600) }]));
  for (let k = 1; k < 40; k++) {
    const fault = new FaultEnv(env.crashImage(), { crashAtOp: k });
    const store = await NeurStore.open('store', { env: fault, catalog: new SqliteCatalog(`/tmp/dbg3-${k}.sqlite`), create: true, chunkBytes: 2048 }).catch((e) => { log(`open ${k} ${e.message}`); return null; });
    if (!store) continue;
    log(`k=${k} put`);
    const r = await store.put('in/a.safetensors', { name: 'a' }).then(() => 'ok', (e) => e.message);
    log(`k=${k} ${r} ops=${fault.ops}`);
    await store.close().catch(() => undefined);
  }
});
