/**
 * The compression modes on real models: every float tensor comes back within the tolerance (paper, default),
 * every file bit-exact (lossless), non-float tensors exact in every mode, fp16 stays fp16, bases stay alive
 * through rm + gc, a dry run stores nothing, and our default mode beats the paper's on a real fine-tune pair.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { NodeEnv } from '../env/node-env.js';
import { NeurStore } from './neur-store.js';
import { openModelSource } from './model-files.js';
import { detectFormat } from './format-registry.js';
import { isFloatDType, maxAbsError, valuesOf } from './tensor-values.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const HUMAN = (n: string) => fixturePath('human-models', `${n}.json`);
const MODELS = [
  join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors'),
  HUMAN('faceres'),
  HUMAN('faceres-deep'),
  fixturePath('face-api', 'face_expression_model-weights_manifest.json'),
  fixturePath('vad-web', 'silero_vad_v5.onnx'),
];

async function tensorsOf(path: string): Promise<Array<{ name: string; dtype: string; bytes: Uint8Array }>> {
  const source = await openModelSource(new NodeEnv(), path);
  try {
    const layout = await (await detectFormat(source)).read(source);
    const out = [];
    for (const t of layout.tensors) out.push({ name: t.name, dtype: t.dtype, bytes: await t.read() });
    return out;
  } finally {
    await source.close();
  }
}

test('every float tensor of real models comes back within the tolerance; everything else exactly', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  for (const [mode, tolerance] of [['paper', 1e-3], ['default', 1e-3], ['default', 1e-2]] as const) {
    for (const [i, path] of MODELS.entries()) {
      const name = `${mode}-${tolerance}-${i}`;
      const put = await store.put(path, { name, mode, tolerance });
      assert.ok(put.maxError <= tolerance, `${name}: reported max error ${put.maxError}`);
      const [main] = await store.get(name, join(dir, 'out', name, path.slice(path.lastIndexOf('/') + 1)));
      const [before, after] = [await tensorsOf(path), await tensorsOf(main!)];
      assert.equal(after.length, before.length);
      for (const [k, t] of before.entries()) {
        const back = after[k]!;
        assert.equal(back.dtype, t.dtype, `${name}/${t.name} keeps its dtype`);
        assert.equal(back.bytes.length, t.bytes.length);
        if (isFloatDType(t.dtype)) {
          const err = maxAbsError(valuesOf(t.bytes, t.dtype), valuesOf(back.bytes, t.dtype));
          assert.ok(err <= tolerance, `${name}/${t.name}: max error ${err} > ${tolerance}`);
        } else {
          assert.ok(Buffer.from(back.bytes).equals(Buffer.from(t.bytes)), `${name}/${t.name} (${t.dtype}) is exact`);
        }
      }
    }
  }
  await store.close();
});

test('lossless mode gives every file back bit-exact and is smaller than the files', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  for (const [i, path] of MODELS.entries()) {
    const put = await store.put(path, { name: `m${i}`, mode: 'lossless' });
    assert.equal(put.maxError, 0);
    const written = await store.get(`m${i}`, join(dir, 'out', `m${i}`, path.slice(path.lastIndexOf('/') + 1)));
    assert.ok(readFileSync(written[0]!).equals(readFileSync(path)), `${path} is bit-exact`);
  }
  const s = await store.stats();
  assert.ok(s.segmentBytes < s.bytesIn, `lossless coding saves space (${s.segmentBytes} < ${s.bytesIn})`);
  await store.close();
});

test('on the real fine-tune pair faceres -> faceres-deep, default stores at most 2/3 of paper at the same bound', async () => {
  const sizes: Record<string, number> = {};
  for (const mode of ['paper', 'default'] as const) {
    const store = await NeurStore.init(join(tempDir(), 'store'));
    const a = await store.put(HUMAN('faceres'), { name: 'base', mode, tolerance: 1e-3 });
    const b = await store.put(HUMAN('faceres-deep'), { name: 'tuned', mode, tolerance: 1e-3 });
    sizes[mode] = a.storedBytes + b.storedBytes;
    if (mode === 'default') {
      const large = b.tensors.filter((t) => t.byteLength > 4096);
      assert.ok(large.length > 20);
      assert.ok(large.every((t) => t.storedAs === 'delta' && t.baseKey !== undefined), 'every large fine-tuned tensor is a delta of the base');
    }
    await store.close();
  }
  assert.ok(sizes.default! <= (2 / 3) * sizes.paper!, `default ${sizes.default} vs paper ${sizes.paper}`);
});

test('bases stay alive while a delta needs them: rm the base model, gc, the fine-tune still decodes', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  for (const mode of ['default', 'paper', 'lossless'] as const) {
    await store.put(HUMAN('faceres'), { name: `base-${mode}`, mode });
    await store.put(HUMAN('faceres-deep'), { name: `tuned-${mode}`, mode });
    await store.remove(`base-${mode}`);
  }
  await store.gc();
  for (const mode of ['default', 'paper', 'lossless'] as const) {
    const [json] = await store.get(`tuned-${mode}`, join(dir, mode, 'faceres-deep.json'));
    const before = await tensorsOf(HUMAN('faceres-deep'));
    const after = await tensorsOf(json!);
    for (const [k, t] of before.entries()) {
      const err = maxAbsError(valuesOf(t.bytes, 'F32'), valuesOf(after[k]!.bytes, 'F32'));
      assert.ok(err <= (mode === 'lossless' ? 0 : 1e-3), `${mode}/${t.name}`);
    }
  }
  await store.close();
});

test('a dry run reports the ratio and max error and stores nothing', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  const before = await store.stats();
  const r = await store.put(HUMAN('faceres'), { name: 'dry', mode: 'default', tolerance: 1e-2, dryRun: true });
  assert.equal(r.dryRun, true);
  assert.ok(r.storedBytes > 0 && r.storedBytes < r.bytesIn / 2, `${r.storedBytes} of ${r.bytesIn}`);
  assert.ok(r.maxError > 0 && r.maxError <= 1e-2);
  const after = await store.stats();
  assert.equal(after.models, 0);
  assert.equal(after.segmentBytes, before.segmentBytes);
  await store.put(HUMAN('faceres'), { name: 'dry', mode: 'default', tolerance: 1e-2 });
  await store.close();
});
