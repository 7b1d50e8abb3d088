// Interoperability: files from our writer parse with an independent reader (@huggingface/gguf) with the same
// metadata, tensor names, dims, types and offsets; and a header built by @huggingface/gguf parses with ours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gguf, serializeGgufMetadata, GGMLQuantizationType, GGUFValueType } from '@huggingface/gguf';
import { ensureFixtures, SHARED_MNIST_DIR } from '../../../scripts/fetch-fixtures.js';
import { memorySink, memorySource } from '../byte-source.js';
import { GGML_TYPES } from './ggml-types.js';
import { ggufFormat } from './gguf-format.js';
import { readGgufHeader } from './gguf-header-reader.js';
import { bytesSpec, quantizedSpec, safetensorsSpecs, sampleMetadata } from './gguf-samples.js';
import { SeededRandom } from '../../env/seeded-random.js';
import type { GgufValue } from './gguf-values.js';
import { writeGguf, type GgufTensorSpec, type GgufWriteOptions } from './gguf-writer.js';

ensureFixtures();
const MNIST = readFileSync(join(SHARED_MNIST_DIR, 'model_6682ba5.safetensors'));

/** A fetch that serves HTTP range requests from memory, so @huggingface/gguf reads our bytes without files. */
function memoryFetch(bytes: Uint8Array): typeof fetch {
  return (async (_url: unknown, init?: { headers?: Record<string, string> }) => {
    const m = /bytes=(\d+)-(\d+)/.exec(init?.headers?.Range ?? '');
    const a = m ? Math.min(Number(m[1]), bytes.length) : 0;
    const b = m ? Math.min(Number(m[2]) + 1, bytes.length) : bytes.length;
    return new Response(bytes.slice(a, b), { status: 206, headers: { 'content-range': `bytes ${a}-${b - 1}/${bytes.length}` } });
  }) as typeof fetch;
}

/** Our typed value as the plain JS value @huggingface/gguf reports. */
function plain(v: GgufValue): unknown {
  if (v.type !== 'ARRAY') return v.value;
  return v.elementType === 'ARRAY' ? v.items.map(plain) : v.items;
}

async function build(meta: [string, GgufValue][], specs: GgufTensorSpec[], options?: GgufWriteOptions): Promise<Uint8Array> {
  const s = memorySink();
  await writeGguf(meta, specs, s, options);
  return s.bytes();
}

async function compareWithHf(file: Uint8Array, meta: [string, GgufValue][]): Promise<void> {
  const hf = await gguf('http://memory/model.gguf', { fetch: memoryFetch(file), typedMetadata: true });
  const ours = await readGgufHeader(memorySource(file));
  assert.equal(hf.littleEndian, true);
  assert.equal(hf.metadata.version, ours.version);
  assert.equal(hf.metadata.tensor_count, BigInt(ours.tensors.length));
  assert.equal(hf.metadata.kv_count, BigInt(meta.length));
  for (const [key, value] of meta) {
    const theirs = hf.typedMetadata[key]!;
    assert.deepEqual(theirs.value, plain(value), key);
    assert.equal(GGUFValueType[theirs.type], value.type, key);
    if (value.type === 'ARRAY') assert.equal(GGUFValueType[theirs.subType!], value.elementType, key);
  }
  assert.equal(Number(hf.tensorDataOffset), ours.dataStart);
  assert.deepEqual(
    hf.tensorInfos.map((t) => [t.name, t.n_dims, t.shape.map(Number), t.dtype, Number(t.offset)]),
    ours.tensors.map((t) => [t.name, t.ne.length, t.ne, t.type.id, t.offset]),
  );
}

test('our MNIST + quantized file parses identically with @huggingface/gguf', async () => {
  const rand = new SeededRandom(21);
  const specs = [
    ...safetensorsSpecs(MNIST),
    quantizedSpec('q4_0', 'Q4_0', 4, 64, rand),
    quantizedSpec('q8_0', 'Q8_0', 2, 32, rand),
    quantizedSpec('q4_k', 'Q4_K', 3, 256, rand),
    bytesSpec('f16', 'F16', [2, 3], rand.bytes(12)),
  ];
  const meta = sampleMetadata();
  const file = await build(meta, specs);
  await compareWithHf(file, meta);
});

test('every ggml type and a v2 file with alignment 64 parse identically with @huggingface/gguf', async () => {
  const rand = new SeededRandom(22);
  const specs = GGML_TYPES.map((t) => t.dtype
    ? bytesSpec(t.name, t.dtype, [2], rand.bytes(2 * t.typeSize))
    : quantizedSpec(t.name, t.name, 1, t.blockSize, rand));
  const meta: [string, GgufValue][] = [['general.alignment', { type: 'UINT32', value: 64 }]];
  await compareWithHf(await build(meta, specs, { version: 2 }), meta);
});

test('a header serialized by @huggingface/gguf parses with our reader', async () => {
  const header = serializeGgufMetadata({
    version: { value: 3, type: GGUFValueType.UINT32 },
    tensor_count: { value: 0n, type: GGUFValueType.UINT64 },
    kv_count: { value: 4n, type: GGUFValueType.UINT64 },
    'general.architecture': { value: 'llama', type: GGUFValueType.STRING },
    'llama.context_length': { value: 4096, type: GGUFValueType.UINT32 },
    'tokenizer.ggml.scores': { value: [0.5, -1], type: GGUFValueType.ARRAY, subType: GGUFValueType.FLOAT32 },
    'test.big': { value: 1n << 40n, type: GGUFValueType.UINT64 },
  } as Parameters<typeof serializeGgufMetadata>[0]);
  const ours = await readGgufHeader(memorySource(header));
  assert.deepEqual([...ours.metadata], [
    ['general.architecture', { type: 'STRING', value: 'llama' }],
    ['llama.context_length', { type: 'UINT32', value: 4096 }],
    ['tokenizer.ggml.scores', { type: 'ARRAY', elementType: 'FLOAT32', items: [0.5, -1] }],
    ['test.big', { type: 'UINT64', value: 1n << 40n }],
  ]);
  const layout = await ggufFormat.read({ files: ['h.gguf'], open: async () => memorySource(header) });
  assert.equal(layout.tensors.length, 0);
});

test('our ggml type table has exactly the ids and names of @huggingface/gguf, and ggml block sizes', () => {
  const theirs = Object.entries(GGMLQuantizationType).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]);
  assert.deepEqual(GGML_TYPES.map((t) => [t.id, t.name]), theirs.sort((a, b) => (a[0] as number) - (b[0] as number)));
  // Bytes per block as ggml's block structs define them (ggml-common.h), typed in independently of our table.
  const bytes: Record<string, [number, number]> = {
    Q4_0: [32, 18], Q4_1: [32, 20], Q5_0: [32, 22], Q5_1: [32, 24], Q8_0: [32, 34], Q8_1: [32, 36], Q2_K: [256, 84],
    Q3_K: [256, 110], Q4_K: [256, 144], Q5_K: [256, 176], Q6_K: [256, 210], Q8_K: [256, 292], IQ2_XXS: [256, 66],
    IQ2_XS: [256, 74], IQ3_XXS: [256, 98], IQ1_S: [256, 50], IQ4_NL: [32, 18], IQ3_S: [256, 110], IQ2_S: [256, 82],
    IQ4_XS: [256, 136], IQ1_M: [256, 56], TQ1_0: [256, 54], TQ2_0: [256, 66], MXFP4: [32, 17],
  };
  for (const [name, geometry] of Object.entries(bytes)) {
    const t = GGML_TYPES.find((x) => x.name === name)!;
    assert.deepEqual([t.blockSize, t.typeSize], geometry, name);
  }
});
