/**
 * Lossless 1-byte tensors against a byte base (XOR or subtraction, tensor-encoder `byteDelta`): on real data
 * (face-api's expression model, a fine-tune of the landmark model, both uint8-quantized) and on seeded synthetic
 * U8 models. Every model comes back byte-identical, also after its base model is removed and gc runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { SeededRandom } from '../env/seeded-random.js';
import { NeurStore } from './neur-store.js';
import { writeSafetensorsFile, type TestTensor } from './testing/safetensors-files.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const FACE_API = (stem: string) => fixturePath('face-api', `${stem}-weights_manifest.json`);
const LANDMARK = 'face_landmark_68_model';
const EXPRESSION = 'face_expression_model';

function sameFile(a: string, b: string): void {
  assert.ok(readFileSync(a).equals(readFileSync(b)), `${a} equals ${b}`);
}

/** Gets the expression model and compares its manifest and shard with the fixture files. */
async function expectExpressionBack(store: NeurStore, name: string, outDir: string): Promise<void> {
  const written = await store.get(name, join(outDir, `${EXPRESSION}-weights_manifest.json`));
  assert.equal(written.length, 2);
  sameFile(written[0]!, FACE_API(EXPRESSION));
  sameFile(join(outDir, `${EXPRESSION}.bin`), fixturePath('face-api', `${EXPRESSION}.bin`));
}

test('face-api: the expression model codes its uint8 tensors against the landmark model and comes back exact', async () => {
  const dir = tempDir();
  const alone = await NeurStore.init(join(dir, 'alone'));
  const aloneBytes = (await alone.put(FACE_API(EXPRESSION), { name: 'expression', mode: 'lossless' })).storedBytes;
  await alone.close();

  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(FACE_API(LANDMARK), { name: 'landmark', mode: 'lossless' });
  const put = await store.put(FACE_API(EXPRESSION), { name: 'expression', mode: 'lossless' });
  await expectExpressionBack(store, 'expression', join(dir, 'out'));

  const info = await store.info('expression');
  const codes = info.tensors.filter((t) => t.dtype === 'U8' && t.byteLength >= 64);
  const deltas = codes.filter((t) => t.storedAs === 'lossless-delta');
  assert.ok(deltas.length >= 0.8 * codes.length, `${deltas.length} of ${codes.length} uint8 tensors coded against a base`);
  let sameName = 0;
  for (const t of deltas) {
    assert.equal(t.codec, 'lossless');
    assert.equal(t.depth, 1);
    const base = await store.tensorOfRecord(t.baseKey!);
    assert.equal(base?.model, 'landmark', `${t.name} is coded against the landmark model`);
    if (base.tensor === t.name) sameName++;
  }
  // A fine-tune's tensor is closest to the tensor it was tuned from: the same name in the landmark model.
  assert.ok(sameName >= 0.9 * deltas.length, `${sameName} of ${deltas.length} bases are the same-named tensor`);
  // The bases save ~43 KB on this pair (order-0 entropy of the codes minus their base's, 16% lower).
  assert.ok(put.storedBytes < aloneBytes - 30_000, `with bases ${put.storedBytes} B, alone ${aloneBytes} B`);
  await store.close();
});

test('face-api: removing the landmark model and running gc keeps the expression model byte-exact', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(FACE_API(LANDMARK), { name: 'landmark', mode: 'lossless' });
  await store.put(FACE_API(EXPRESSION), { name: 'expression', mode: 'lossless' });
  await store.remove('landmark');
  const gc = await store.gc();
  assert.ok(gc.bytesReclaimed > 0, 'the landmark tensors no base needs are reclaimed');
  await store.close();
  const reopened = await NeurStore.open(join(dir, 'store'));
  await expectExpressionBack(reopened, 'expression', join(dir, 'out'));
  await reopened.close();
});

/** A U8 tensor of `n` codes: `base` moved by small steps (a fine-tune), or uniform random when no base. */
function codes(rng: SeededRandom, n: number, base?: Uint8Array): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = base ? base[i]! + rng.int(5) - 2 : rng.int(256);
  return out;
}

test('synthetic U8 models: deltas only against same-shape, same-dtype, depth-0 tensors, all exact after gc', async () => {
  const rng = new SeededRandom(7);
  const dir = tempDir();
  const shape = [64, 64];
  const a: TestTensor[] = [0, 1, 2].map((i) => ({ name: `w${i}`, dtype: 'U8', shape, bytes: codes(rng, 4096) }));
  const tune = (from: TestTensor[]) => from.map((t) => ({ ...t, bytes: codes(rng, 4096, t.bytes) }));
  const b = tune(a);
  const c = tune(b);
  // Same bytes as a tensor of model a, other dtype or shape: never a base (nor coded against one).
  const d: TestTensor[] = [
    { name: 'as-i8', dtype: 'I8', shape, bytes: codes(rng, 4096, a[0]!.bytes) },
    { name: 'flat', dtype: 'U8', shape: [4096], bytes: codes(rng, 4096, a[1]!.bytes) },
  ];
  const store = await NeurStore.init(join(dir, 'store'));
  const files: Record<string, string> = {};
  for (const [name, tensors] of Object.entries({ a, b, c, d })) {
    files[name] = await writeSafetensorsFile(join(dir, `${name}.safetensors`), tensors);
    await store.put(files[name]!, { name, mode: 'lossless' });
  }
  const keysOf = async (name: string) => (await store.info(name)).tensors.map((t) => t.recordKey);
  const aKeys = await keysOf('a');
  for (const name of ['b', 'c']) {
    const info = await store.info(name);
    for (const [i, t] of info.tensors.entries()) {
      assert.equal(t.storedAs, 'lossless-delta', `${name}/${t.name}`);
      // c is nearest to b, but b's tensors have a base of their own: c goes to a's (chains stay one deep).
      assert.equal(t.baseKey, aKeys[i], `${name}/${t.name} is coded against a/${a[i]!.name}`);
      assert.equal(t.depth, 1);
    }
  }
  assert.ok((await store.info('d')).tensors.every((t) => t.baseKey === undefined && t.storedAs !== 'lossless-delta'));
  assert.ok((await store.info('a')).tensors.every((t) => t.storedAs === 'raw' || t.storedAs === 'lossless'));
  // gc keeps the bases live tensors name, not their bases' bases: c must still decode with a and b removed.
  await store.remove('a');
  await store.remove('b');
  await store.gc();
  for (const name of ['c', 'd']) {
    const out = join(dir, 'out', `${name}.safetensors`);
    await store.get(name, out);
    sameFile(out, files[name]!);
  }
  await store.close();
});
