/**
 * Conformance suite of the store over a backend: `NeurStore` put/get byte-exact against the original files, rm,
 * gc, exact dedup, a fine-tune stored against its base, a dry run that keeps nothing. Run it with the factory of
 * backend.case.ts (`(t) => Promise<{ backend, reopen(), cleanup() }>`, a fresh empty writable store each time):
 *
 *   import { runStoreCases } from '../store.case.js';
 *   runStoreCases('sqlite', factory);
 *
 * Models are the MNIST safetensors of the shared fixtures (read in place) and small seeded files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../env/seeded-random.js';
import { NeurStore } from '../store/neur-store.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { writeSafetensorsFile } from '../store/testing/safetensors-files.js';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import type { Backend } from './backend.js';
import { withBackend, type BackendFactory } from './backend.case.js';

const MNIST = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).sort().map((f) => join(SHARED_MNIST_DIR, f));

/** A store over `backend` (closing the store closes it); decoding and encoding on this thread. */
const storeOver = (backend: Backend): Promise<NeurStore> =>
  NeurStore.open(backend.location, { backend, decodeWorkers: 0, encodeWorkers: 0 });

async function exact(store: NeurStore, name: string, original: string, out: string): Promise<void> {
  await store.get(name, join(out, `${name}.out`));
  assert.ok(readFileSync(join(out, `${name}.out`)).equals(readFileSync(original)), `${name} comes back byte-exact`);
}

/** A model of one 64x64 F32 tensor: seeded values, or `base` nudged by up to `step`. */
function weights(rng: SeededRandom, base?: Float32Array, step = 1e-4): Float32Array {
  return Float32Array.from({ length: 64 * 64 }, (_, i) => (base ? base[i]! + (rng.next() - 0.5) * step : rng.next() - 0.5));
}

const file = (dir: string, name: string, v: Float32Array): Promise<string> =>
  writeSafetensorsFile(join(dir, `${name}.safetensors`), [{ name: 'w', dtype: 'F32', shape: [64, 64], bytes: new Uint8Array(v.buffer) }]);

export function runStoreCases(name: string, factory: BackendFactory): void {
  test(`${name} store: models put come back byte-exact, also from a reopened store; rm and gc keep the rest`, async (t) => {
    await withBackend(t, factory, async (backend, reopen) => {
      const out = tempDir();
      const store = await storeOver(backend);
      try {
        for (const [i, f] of MNIST.entries()) await store.put(f, { name: `mnist-${i}` });
        assert.deepEqual((await store.list()).map((m) => m.name), MNIST.map((_, i) => `mnist-${i}`));
        for (const [i, f] of MNIST.entries()) await exact(store, `mnist-${i}`, f, out);
        const again = await storeOver(await reopen());
        try {
          for (const [i, f] of MNIST.entries()) await exact(again, `mnist-${i}`, f, out);
        } finally {
          await again.close();
        }
        const before = await store.stats();
        await store.remove('mnist-0');
        await assert.rejects(store.remove('mnist-0'), (e: Error & { code?: string }) => e.code === 'NOT_FOUND');
        const gc = await store.gc();
        assert.ok(gc.recordsDropped > 0 && gc.bytesReclaimed > 0, `gc reclaimed (${gc.recordsDropped} records)`);
        const after = await store.stats();
        assert.ok(after.recordBytes < before.recordBytes, `${after.recordBytes} < ${before.recordBytes}`);
        assert.deepEqual((await store.list()).map((m) => m.name), MNIST.slice(1).map((_, i) => `mnist-${i + 1}`));
        for (const [i, f] of MNIST.entries()) if (i > 0) await exact(store, `mnist-${i}`, f, out);
        assert.equal((await store.verify()).ok, true);
      } finally {
        await store.close();
      }
    });
  });

  test(`${name} store: exact dedup stores a model's tensors once, and a dry run keeps nothing`, async (t) => {
    await withBackend(t, factory, async (backend) => {
      const out = tempDir();
      const store = await storeOver(backend);
      try {
        const first = await store.put(MNIST[0]!, { name: 'a' });
        const dry = await store.put(MNIST[1]!, { name: 'dry', dryRun: true });
        assert.equal(dry.dryRun, true);
        const before = await store.stats();
        const second = await store.put(MNIST[0]!, { name: 'b' });
        assert.ok(first.storedBytes > 0);
        assert.equal(second.storedBytes, 0, 'the same file again stores nothing new');
        assert.ok(second.tensors.every((r) => r.storedAs === 'duplicate'));
        const after = await store.stats();
        assert.equal(after.recordBytes, before.recordBytes, 'no record bytes were added');
        assert.equal(after.dedupHits, second.tensors.length);
        assert.deepEqual((await store.list()).map((m) => m.name), ['a', 'b']);
        await exact(store, 'b', MNIST[0]!, out);
        await store.remove('a');
        await store.gc();
        await exact(store, 'b', MNIST[0]!, out);
      } finally {
        await store.close();
      }
    });
  });

  test(`${name} store: a fine-tune is stored against its base and stays readable after the base is removed and gc runs`, async (t) => {
    await withBackend(t, factory, async (backend) => {
      const dir = tempDir();
      const rng = new SeededRandom(13);
      const base = weights(rng);
      const files = { base: await file(dir, 'base', base), tuned: await file(dir, 'tuned', weights(rng, base)) };
      const store = await storeOver(backend);
      try {
        const b = await store.put(files.base, { name: 'base' });
        const tuned = await store.put(files.tuned, { name: 'tuned' });
        const row = tuned.tensors[0]!;
        assert.equal(row.storedAs, 'lossless-delta');
        assert.equal(row.baseKey, b.tensors[0]!.recordKey);
        assert.ok(tuned.storedBytes < b.storedBytes, `the fine-tune costs less than its base (${tuned.storedBytes} < ${b.storedBytes})`);
        await store.remove('base');
        await store.gc();
        await exact(store, 'tuned', files.tuned, dir);
      } finally {
        await store.close();
      }
    });
  });
}
