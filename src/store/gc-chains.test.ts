// gc keeps whole delta chains alive: c stored against b stored against a stays exact after the models of a
// and b are removed and the space is reclaimed, in every mode that writes deltas (the catalog only records
// each tensor's direct base; the bases of bases are found through the records' own headers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../env/seeded-random.js';
import type { Mode } from './store-types.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';
import { writeSafetensorsFile } from './testing/safetensors-files.js';
import { maxAbsError } from './tensor-values.js';

for (const mode of ['lossless', 'default'] as Mode[]) {
  test(`${mode}: a chain a -> b -> c decodes after a and b are removed and gc runs`, async () => {
    const rng = new SeededRandom(3);
    const dir = tempDir();
    const step = (base?: Float32Array): Float32Array =>
      Float32Array.from({ length: 64 * 64 }, (_, i) => (base ? base[i]! + (rng.next() - 0.5) * 1e-4 : rng.next() - 0.5));
    const a = step();
    const b = step(a);
    const c = step(b);
    const store = await NeurStore.init(join(dir, 'store'));
    try {
      const files = new Map<string, string>();
      const depths: number[] = [];
      for (const [name, v] of [['a', a], ['b', b], ['c', c]] as const) {
        const f = await writeSafetensorsFile(join(dir, `${name}.safetensors`), [{ name: 'w', dtype: 'F32', shape: [64, 64], bytes: new Uint8Array(v.buffer) }]);
        files.set(name, f);
        const r = await store.put(f, { name, mode, ...(mode === 'default' ? { tolerance: 1e-6 } : {}) });
        depths.push(r.tensors[0]!.depth);
      }
      assert.ok(depths[2]! >= 2, `c must sit at the end of a chain (depths ${depths})`);
      await store.remove('a');
      await store.remove('b');
      await store.gc();
      const out = join(dir, 'c-back.safetensors');
      await store.get('c', out);
      const back = readFileSync(out);
      if (mode === 'lossless') assert.ok(back.equals(readFileSync(files.get('c')!)), 'c comes back byte-exact');
      else {
        const got = new Float32Array(back.buffer.slice(back.length - c.byteLength));
        assert.ok(maxAbsError(got, c) <= 1e-6, 'c within its tolerance');
      }
    } finally {
      await store.close();
    }
  });
}
