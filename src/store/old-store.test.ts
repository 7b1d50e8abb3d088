/**
 * A store written by the previous NeurStore (catalog schema 1, lossless version-2 bodies; `testdata/store-v1`,
 * made by commit bd5083e from the two files beside it) opens and reads: read-only as it is, and writable after
 * its catalog is migrated; every model comes back byte-exact (lossless) or within its tolerance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';

const DATA = fileURLToPath(new URL('./testdata/store-v1', import.meta.url));

function floats(file: string): Float32Array {
  const b = readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const data = b.subarray(8 + n);
  return new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
}

test('a store written by the previous version opens read-only and writable, and reads back what was put', async () => {
  const dir = join(tempDir(), 'store');
  cpSync(join(DATA, 'store'), dir, { recursive: true });
  for (const readOnly of [true, false]) {
    const store = await NeurStore.open(dir, { readOnly });
    assert.deepEqual((await store.list()).map((m) => m.name), ['a', 'b', 'b-lossy']);
    for (const [name, file] of [['a', 'a.safetensors'], ['b', 'b.safetensors']] as const) {
      const out = join(tempDir(), `${name}.safetensors`);
      await store.get(name, out);
      assert.ok(readFileSync(out).equals(readFileSync(join(DATA, file))), `${name} byte-exact (readOnly ${readOnly})`);
    }
    const out = join(tempDir(), 'lossy.safetensors');
    await store.get('b-lossy', out);
    const want = floats(join(DATA, 'b.safetensors'));
    const got = floats(out);
    assert.ok(got.every((v, i) => Math.abs(v - want[i]!) <= 1e-3), 'b-lossy within its tolerance');
    assert.equal((await store.verify()).ok, true);
    await store.close();
  }
  const store = await NeurStore.open(dir);
  await store.put(join(DATA, 'a.safetensors'), { name: 'a-again' });
  await store.remove('b');
  await store.gc();
  const out = join(tempDir(), 'a.safetensors');
  await store.get('a-again', out);
  assert.ok(readFileSync(out).equals(readFileSync(join(DATA, 'a.safetensors'))));
  await store.close();
});
