// safetensorsFormat on real files: the three MNIST checkpoints round-trip byte-exactly through
// detect/read/write, and TF.js models (human-models, face-api) exported with the generic writer read back to
// the manifest's own bytes and round-trip too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, fixturePath, SHARED_MNIST_DIR } from '../../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../../errors.js';
import { memorySink, memorySource } from '../byte-source.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import { safetensorsFormat } from './safetensors-format.js';
import { readSafetensors } from './safetensors-reader.js';
import type { SafetensorsTensorSpec } from './safetensors-writer.js';
import { writeSafetensors } from './safetensors-writer.js';

function sameBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  const view = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);
  assert.ok(view(actual).equals(view(expected)), message ?? `bytes differ (${actual.length} vs ${expected.length})`);
}

/** read then write through the ModelFormat contract; returns the single file written and its name. */
async function throughFormat(name: string, bytes: Uint8Array): Promise<[string, Uint8Array]> {
  const layout = await safetensorsFormat.read(memoryModelSource({ [name]: bytes }));
  assert.equal(layout.format, 'safetensors');
  const sink = memoryModelSink();
  await safetensorsFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i].read() }, sink);
  assert.equal(sink.files.size, 1);
  return [...sink.files][0];
}

ensureFixtures();
const mnist = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).sort();

test('MNIST checkpoints: detected, read, and re-emitted byte-identically under their own name', async () => {
  assert.equal(mnist.length, 3);
  for (const name of mnist) {
    const bytes = new Uint8Array(readFileSync(join(SHARED_MNIST_DIR, name)));
    assert.equal(await safetensorsFormat.detect(memoryModelSource({ [name]: bytes })), true);
    const layout = await safetensorsFormat.read(memoryModelSource({ [name]: bytes }));
    assert.deepEqual(
      layout.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]),
      [['l1.weight', 'F32', [128, 784], 401408], ['l2.weight', 'F32', [10, 128], 5120]],
    );
    const [outName, out] = await throughFormat(name, bytes);
    assert.equal(outName, name);
    sameBytes(out, bytes, name);
  }
});

test('MNIST: the generic writer reproduces the reference implementation layout exactly', async () => {
  const bytes = new Uint8Array(readFileSync(join(SHARED_MNIST_DIR, mnist[0])));
  const file = await readSafetensors(memorySource(bytes));
  const specs = file.header.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, byteLength: t.end - t.begin }));
  const sink = memorySink();
  const size = await writeSafetensors(specs, (i) => file.tensors[i].read(), sink);
  assert.equal(size, bytes.length);
  sameBytes(sink.bytes(), bytes);
});

test('detect says no to other content and to several files none of which is a *.safetensors file', async () => {
  const onnx = readFileSync(fixturePath('vad-web', 'silero_vad_v5.onnx'));
  const json = readFileSync(fixturePath('human-models', 'blazeface.json'));
  const mnistBytes = new Uint8Array(readFileSync(join(SHARED_MNIST_DIR, mnist[0])));
  const fakeLength = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]);
  for (const bytes of [onnx, json, new Uint8Array(0), new Uint8Array(9), fakeLength]) {
    assert.equal(await safetensorsFormat.detect(memoryModelSource({ f: bytes })), false);
  }
  assert.equal(await safetensorsFormat.detect(memoryModelSource({ a: mnistBytes, b: mnistBytes })), false);
  await assert.rejects(safetensorsFormat.read(memoryModelSource({ a: mnistBytes, b: mnistBytes })), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /none of its 2 files/.test(e.message));
  // Two safetensors files and no index (safetensors-shards.test.ts has the sharded cases): which one is meant?
  const two = memoryModelSource({ 'a.safetensors': mnistBytes, 'b.safetensors': mnistBytes });
  assert.equal(await safetensorsFormat.detect(two), true);
  await assert.rejects(safetensorsFormat.read(two), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /2 safetensors files \(a\.safetensors, b\.safetensors\)/.test(e.message));
});

test('write rejects a tensor of the wrong size before anything past it is written', async () => {
  const bytes = new Uint8Array(readFileSync(join(SHARED_MNIST_DIR, mnist[0])));
  const layout = await safetensorsFormat.read(memoryModelSource({ m: bytes }));
  const sink = memoryModelSink();
  const model = { architecture: layout.architecture, tensorBytes: async (i: number) => new Uint8Array(i === 0 ? 401408 : 5119) };
  await assert.rejects(safetensorsFormat.write(model, sink), (e: unknown) => {
    assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'));
    assert.match(e.message, /tensor "l2\.weight": expected 5120 bytes, got 5119 bytes/);
    return true;
  });
});

test('write lets the store reuse a piece\'s memory exactly when the file\'s sink is done with bytes once written', async () => {
  const bytes = new Uint8Array(readFileSync(join(SHARED_MNIST_DIR, mnist[0])));
  const layout = await safetensorsFormat.read(memoryModelSource({ m: bytes }));
  const tensors = await Promise.all(layout.tensors.map((t) => t.read()));
  for (const releasesBytes of [true, false]) {
    const asked: boolean[] = [];
    const model = {
      architecture: layout.architecture,
      tensorBytes: async (i: number) => tensors[i]!,
      async *tensorPieces(i: number, options?: { readonly reuse?: boolean }) {
        asked.push(options?.reuse === true);
        yield tensors[i]!.subarray(0, 100);
        yield tensors[i]!.subarray(100);
      },
    };
    const files = memoryModelSink();
    const sink = { async create(name: string) { return { ...(await files.create(name)), releasesBytes }; } };
    await safetensorsFormat.write(model, sink);
    assert.deepEqual(asked, tensors.map(() => releasesBytes));
    sameBytes(files.files.get('m')!, bytes, 'the file written is the one read');
  }
});

/** safetensors dtype and bytes per element of a TF.js manifest weight (quantization changes the stored type). */
function tfjsType(w: { dtype: string; quantization?: { dtype: string } }): [string, number] {
  const q = w.quantization?.dtype;
  if (q === 'float16') return ['F16', 2];
  if (q === 'uint8') return ['U8', 1];
  if (q === 'uint16') return ['U16', 2];
  if (q !== undefined) throw new Error(`quantization ${q} not handled`);
  const plain: Record<string, [string, number]> = { float32: ['F32', 4], int32: ['I32', 4], bool: ['BOOL', 1] };
  if (!plain[w.dtype]) throw new Error(`dtype ${w.dtype} not handled`);
  return plain[w.dtype];
}

interface TfjsWeights {
  specs: SafetensorsTensorSpec[];
  slices: Uint8Array[];
}

/** Splits a TF.js model's concatenated shards into its weights, in manifest order. */
function loadTfjs(dir: string, manifestFile: string): TfjsWeights {
  const json = JSON.parse(readFileSync(fixturePath(dir, manifestFile), 'utf8'));
  const groups: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[] = Array.isArray(json)
    ? json
    : json.weightsManifest;
  const specs: SafetensorsTensorSpec[] = [];
  const slices: Uint8Array[] = [];
  for (const g of groups) {
    const data = Buffer.concat(g.paths.map((p) => readFileSync(fixturePath(dir, p))));
    let offset = 0;
    for (const w of g.weights) {
      const [dtype, size] = tfjsType(w);
      const byteLength = w.shape.reduce((a, d) => a * d, 1) * size;
      specs.push({ name: w.name, dtype, shape: w.shape, byteLength });
      slices.push(new Uint8Array(data.buffer, data.byteOffset + offset, byteLength));
      offset += byteLength;
    }
    assert.equal(offset, data.length, `${manifestFile}: manifest covers the shards exactly`);
  }
  return { specs, slices };
}

test('TF.js models exported with the generic writer read back to their own bytes and round-trip', async () => {
  const models: [string, string][] = [
    ['human-models', 'faceres.json'],
    ['human-models', 'blazeface.json'],
    ['face-api', 'face_recognition_model-weights_manifest.json'],
    ['face-api', 'tiny_face_detector_model-weights_manifest.json'],
  ];
  for (const [dir, manifest] of models) {
    const { specs, slices } = loadTfjs(dir, manifest);
    const sink = memorySink();
    await writeSafetensors(specs, async (i) => slices[i], sink, { source: `${dir}/${manifest}` });
    const bytes = sink.bytes();
    const file = await readSafetensors(memorySource(bytes));
    assert.equal(file.dataOffset % 8, 0, manifest);
    assert.deepEqual(file.tensors.map((t) => t.name), specs.map((s) => s.name), manifest);
    assert.deepEqual(file.tensors.map((t) => [t.dtype, t.shape]), specs.map((s) => [s.dtype, s.shape]), manifest);
    for (let i = 0; i < specs.length; i++) sameBytes(await file.tensors[i].read(), slices[i], `${manifest} ${specs[i].name}`);
    const [, out] = await throughFormat('model.safetensors', bytes);
    sameBytes(out, bytes, manifest);
  }
});
