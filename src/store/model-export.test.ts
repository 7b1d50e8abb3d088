/** `get --format`: tensors cross formats with their meaning kept; what cannot cross says so. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isNeurStoreError } from '../errors.js';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { memorySink } from '../formats/byte-source.js';
import { writeGguf } from '../formats/gguf/gguf-writer.js';
import { NeurStore } from './neur-store.js';
import { tempDir } from './testing/temp-dir.js';

ensureFixtures();
const MNIST = join(SHARED_MNIST_DIR, 'model_4fe0665.safetensors');

test('safetensors -> gguf and -> tfjs carry the same tensors (they dedup against the original)', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(MNIST, { name: 'mnist' });
  for (const format of ['gguf', 'tfjs'] as const) {
    const [main] = await store.get('mnist', join(dir, format, `mnist.${format}`), { format });
    const back = await store.put(main!, { name: `mnist-from-${format}` });
    assert.equal(back.format, format);
    const info = await store.info(`mnist-from-${format}`);
    assert.deepEqual(info.tensors.map((t) => [t.name, t.dtype, t.shape, t.storedAs]), [
      ['l1.weight', 'F32', [128, 784], 'duplicate'],
      ['l2.weight', 'F32', [10, 128], 'duplicate'],
    ]);
  }
  await store.close();
});

test('uint8-quantized TF.js weights export to safetensors as the F32 values TF.js decodes', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  const manifestPath = fixturePath('face-api', 'face_expression_model-weights_manifest.json');
  await store.put(manifestPath, { name: 'expr' });
  const [out] = await store.get('expr', join(dir, 'expr.safetensors'), { format: 'safetensors' });
  await store.put(out!, { name: 'expr-st' });
  const exported = await store.info('expr-st');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as tf.io.WeightsManifestConfig;
  const specs = manifest.flatMap((g) => g.weights);
  const decoded = tf.io.decodeWeights(readFileSync(fixturePath('face-api', 'face_expression_model.bin')).buffer.slice(0) as ArrayBuffer, specs);
  assert.equal(exported.tensors.length, specs.length);
  const st = readFileSync(out!);
  const headerLen = Number(st.readBigUInt64LE(0));
  const header = JSON.parse(st.subarray(8, 8 + headerLen).toString()) as Record<string, { dtype: string; data_offsets: [number, number] }>;
  for (const spec of specs) {
    const h = header[spec.name]!;
    assert.equal(h.dtype, 'F32', `${spec.name} is dequantized`);
    const ours = new Float32Array(st.buffer.slice(st.byteOffset + 8 + headerLen + h.data_offsets[0], st.byteOffset + 8 + headerLen + h.data_offsets[1]));
    assert.deepEqual(ours, decoded[spec.name]!.dataSync(), spec.name);
  }
  await store.close();
});

test('conversions that make no sense are refused with NOT_SUPPORTED and leave no file', async () => {
  const dir = tempDir();
  const store = await NeurStore.init(join(dir, 'store'));
  await store.put(MNIST, { name: 'mnist' });
  const toOnnx = join(dir, 'x.onnx');
  await assert.rejects(store.get('mnist', toOnnx, { format: 'onnx' }), (e: Error) => isNeurStoreError(e, 'NOT_SUPPORTED') && /needs a graph/.test(e.message));
  const sink = memorySink();
  const block = new Uint8Array(34 * 4).fill(3); // four Q8_0 blocks = 128 values
  await writeGguf([['general.name', { type: 'STRING', value: 'q' }]], [{ name: 'w', dtype: 'U8', shape: [1, 136], ggmlType: 'Q8_0', read: async () => block }], sink);
  writeFileSync(join(dir, 'q.gguf'), sink.bytes());
  await store.put(join(dir, 'q.gguf'), { name: 'q' });
  await assert.rejects(store.get('q', join(dir, 'q.safetensors'), { format: 'safetensors' }), (e: Error) => isNeurStoreError(e, 'NOT_SUPPORTED') && /Q8_0/.test(e.message));
  await store.get('q', join(dir, 'q-back.gguf'));
  assert.ok(readFileSync(join(dir, 'q-back.gguf')).equals(readFileSync(join(dir, 'q.gguf'))), 'GGUF with quantized blocks round-trips');
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('neurstore-tmp') || f === 'x.onnx' || f === 'q.safetensors'), []);
  await store.close();
});
