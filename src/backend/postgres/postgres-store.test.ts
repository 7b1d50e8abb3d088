/**
 * The store over PostgreSQL from several processes: two processes putting the same model at once (under two
 * names) store its content once, as one put alone does, and both read back byte-exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../../env/seeded-random.js';
import { NeurStore } from '../../store/neur-store.js';
import { tempDir } from '../../store/testing/temp-dir.js';
import { writeSafetensorsFile } from '../../store/testing/safetensors-files.js';
import { pgFixture } from './testing/pg-fixture.js';

const pg = await pgFixture('postgres-store.test.ts');
const open = (url: string, create = false): Promise<NeurStore> => NeurStore.open(url, { create, decodeWorkers: 0, encodeWorkers: 0 });

/** Starts one child per name, each putting `file`; all told to go at once. */
async function putAtOnce(url: string, file: string, names: string[]): Promise<void> {
  const script = fileURLToPath(new URL('./testing/put-child.ts', import.meta.url));
  const kids = names.map((name) => spawn(process.execPath, ['--import', 'tsx', script, url, file, name], { stdio: ['pipe', 'pipe', 'inherit'] }));
  await Promise.all(kids.map((k) => new Promise<void>((resolve, reject) => {
    k.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) resolve(); });
    k.once('exit', (code) => reject(new Error(`a put process exited (${code}) before it was ready`)));
  })));
  const codes = kids.map((k) => new Promise((resolve) => k.once('exit', resolve)));
  for (const k of kids) k.stdin.end('go\n');
  assert.deepEqual(await Promise.all(codes), names.map(() => 0), 'every put process succeeded');
}

if (pg) {
  test('postgres store: two processes putting the same model at once store its content once; both read back byte-exact', async () => {
    const dir = tempDir();
    const rng = new SeededRandom(21);
    const file = await writeSafetensorsFile(join(dir, 'm.safetensors'), Array.from({ length: 6 }, (_, i) => ({
      name: `layers.${i}.weight`, dtype: 'F32', shape: [128, 64 * (i + 1)], bytes: rng.bytes(128 * 64 * (i + 1) * 4),
    })));
    const alone = await pg.freshUrl();
    await (await open(alone, true)).close();
    await putAtOnce(alone, file, ['solo']);
    const shared = await pg.freshUrl();
    await (await open(shared, true)).close();
    await putAtOnce(shared, file, ['a', 'b']);
    const once = await open(alone);
    const twice = await open(shared);
    try {
      assert.deepEqual((await twice.list()).map((m) => m.name), ['a', 'b']);
      assert.equal((await twice.stats()).records, (await once.stats()).records, 'the content is stored once');
      for (const name of ['a', 'b']) {
        await twice.get(name, join(dir, `${name}.out`));
        assert.ok(readFileSync(join(dir, `${name}.out`)).equals(readFileSync(file)), `${name} byte-exact`);
      }
      assert.equal((await twice.gc()).recordsDropped, 0);
    } finally {
      await once.close();
      await twice.close();
    }
  });
}
