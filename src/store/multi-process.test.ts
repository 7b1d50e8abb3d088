/** One process reads while another writes (puts, removes, gc): every read is NOT_FOUND or byte-exact. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNeurStoreError } from '../errors.js';
import { SeededRandom } from '../env/seeded-random.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';
import { writeSafetensorsFile } from './testing/safetensors-files.js';

test('a reader in this process sees only whole, exact models while another process writes and compacts', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const rng = new SeededRandom(5);
  const shared = { name: 'shared', dtype: 'F32', shape: [64, 64], bytes: rng.bytes(64 * 64 * 4) };
  const files: string[] = [];
  for (let i = 0; i < 16; i++) {
    const own = { name: `own${i}`, dtype: 'F32', shape: [128, 256], bytes: rng.bytes(128 * 256 * 4) };
    files.push(await writeSafetensorsFile(join(dir, `m${i}.safetensors`), [shared, own]));
  }
  const storeDir = join(dir, 'store');
  const reader = await NeurStore.init(storeDir);
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./testing/writer-child.ts', import.meta.url)), storeDir, ...files], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  let running = true;
  void exited.then(() => (running = false));
  let exactReads = 0;
  let rounds = 0;
  while (running || rounds === 0) {
    rounds++;
    for (const m of await reader.list()) {
      const i = Number(m.name.slice(1));
      const out = join(dir, `read-${i}.safetensors`);
      try {
        await reader.get(m.name, out);
        assert.deepEqual(readFileSync(out), readFileSync(files[i]!), `${m.name} read while being written`);
        exactReads++;
      } catch (e) {
        if (!isNeurStoreError(e, 'NOT_FOUND')) throw e; // removed between list and get: fine
      }
    }
  }
  assert.equal(await exited, 0, `writer failed: ${stderr}`);
  assert.ok(exactReads > 0, 'the reader read models while the writer ran');
  assert.deepEqual((await reader.list()).map((m) => m.name).sort(), files.map((_, i) => `m${i}`).sort());
  for (const [i, f] of files.entries()) {
    await reader.get(`m${i}`, join(dir, 'final.safetensors'));
    assert.deepEqual(readFileSync(join(dir, 'final.safetensors')), readFileSync(f));
  }
  await reader.close();
});
