/**
 * Test support: a seeded two-model family in a fresh store: `base` (w F32 [64,64], b F32 [64], ids I32 [4]) and
 * `tuned` (w plus seeded noise of at most 2e-3, b and ids the same), both put in default mode at tolerance 1e-3,
 * so `tuned/w` is a delta against `base/w` and `tuned/b`, `tuned/ids` are duplicates.
 */
import { join } from 'node:path';
import { SeededRandom } from '../../env/seeded-random.js';
import { NeurStore } from '../neur-store.js';
import { writeSafetensorsFile, type TestTensor } from './safetensors-files.js';
import { tempDir } from './temp-dir.js';

export interface TinyFamily {
  readonly store: NeurStore;
  readonly dir: string;
  /** The tensors of each model as they were put. */
  readonly tensors: Readonly<Record<'base' | 'tuned', readonly TestTensor[]>>;
}

export async function tinyFamily(): Promise<TinyFamily> {
  const dir = tempDir();
  const rng = new SeededRandom(7);
  const uniform = () => rng.nextU32() / 2 ** 32 - 0.5;
  const w = Float32Array.from({ length: 4096 }, () => uniform() * 0.2);
  const b = Float32Array.from({ length: 64 }, () => uniform());
  const bytes = (a: Float32Array | Int32Array) => new Uint8Array(a.buffer.slice(0));
  const base: TestTensor[] = [
    { name: 'w', dtype: 'F32', shape: [64, 64], bytes: bytes(w) },
    { name: 'b', dtype: 'F32', shape: [64], bytes: bytes(b) },
    { name: 'ids', dtype: 'I32', shape: [4], bytes: bytes(new Int32Array([1, 2, 3, 4])) },
  ];
  const tuned: TestTensor[] = [{ ...base[0]!, bytes: bytes(w.map((x) => x + uniform() * 0.004)) }, base[1]!, base[2]!];
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(await writeSafetensorsFile(join(dir, 'base.safetensors'), base), { name: 'base', mode: 'default', tolerance: 1e-3 });
  await store.put(await writeSafetensorsFile(join(dir, 'tuned.safetensors'), tuned), { name: 'tuned', mode: 'default', tolerance: 1e-3 });
  return { store, dir, tensors: { base, tuned } };
}
