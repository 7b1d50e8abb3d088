// ggufFormat and writeGguf on files built from the real MNIST tensors plus synthetic blocks of every ggml type:
// metadata and tensors come back as written, read -> write is byte-identical, and read never loads tensor data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureFixtures, SHARED_MNIST_DIR } from '../../../scripts/fetch-fixtures.js';
import { isNeurStoreError } from '../../errors.js';
import { memorySink, memorySource, type ByteSource } from '../byte-source.js';
import type { ModelLayout, ModelSource } from '../model-format.js';
import { GGML_TYPES } from './ggml-types.js';
import { decodeGgufArchitecture } from './gguf-architecture.js';
import { ggufFormat } from './gguf-format.js';
import { readGgufHeader } from './gguf-header-reader.js';
import { bytesSpec, encodeKvs, quantizedSpec, rawGgufHeader, safetensorsSpecs, sampleMetadata } from './gguf-samples.js';
import { SeededRandom } from '../../env/seeded-random.js';
import { writeGguf, type GgufTensorSpec, type GgufWriteOptions } from './gguf-writer.js';
import type { GgufArray, GgufValue } from './gguf-values.js';
import { memoryModelSink } from '../memory-model-source.js';

ensureFixtures();
const MNIST = readFileSync(join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors'));

/** Byte equality without a slow element-by-element diff on failure. */
function sameBytes(actual: Uint8Array, expected: Uint8Array, what = 'bytes'): void {
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), `${what} differ`);
}

function single(bytes: Uint8Array, name = 'model.gguf'): ModelSource & { bytesRead: () => number } {
  let n = 0;
  const inner = memorySource(bytes);
  const src: ByteSource = { size: inner.size, read: (o, l) => { n += l; return inner.read(o, l); } };
  return { files: [name], open: async () => src, bytesRead: () => n };
}

async function build(meta: [string, GgufValue][], specs: GgufTensorSpec[], options?: GgufWriteOptions): Promise<Uint8Array> {
  const s = memorySink();
  await writeGguf(meta, specs, s, options);
  return s.bytes();
}

async function rewrite(layout: ModelLayout): Promise<Uint8Array> {
  const sink = memoryModelSink();
  await ggufFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() }, sink);
  assert.equal(sink.files.size, 1);
  return [...sink.files.values()][0]!;
}

function sampleSpecs(): GgufTensorSpec[] {
  const rand = new SeededRandom(7);
  return [
    ...safetensorsSpecs(MNIST),
    quantizedSpec('blk.0.attn_q.weight', 'Q4_0', 3, 64, rand),
    quantizedSpec('blk.0.attn_k.weight', 'Q8_0', 2, 96, rand),
    quantizedSpec('blk.0.ffn_up.weight', 'Q4_K', 2, 512, rand),
    quantizedSpec('blk.0.ffn_down.weight', 'Q6_K', 1, 256, rand),
    quantizedSpec('blk.0.iq', 'IQ2_XXS', 2, 256, rand),
    bytesSpec('half', 'F16', [3, 5], rand.bytes(30)),
    bytesSpec('brain', 'BF16', [7], rand.bytes(14)),
    bytesSpec('ids', 'I32', [2, 2], rand.bytes(16)),
    bytesSpec('big', 'I64', [3], rand.bytes(24)),
    bytesSpec('wide', 'F64', [2, 1, 1, 2], rand.bytes(32)),
    bytesSpec('bytes', 'I8', [5], rand.bytes(5)),
    bytesSpec('empty', 'F32', [0, 4], new Uint8Array(0)),
  ];
}

test('MNIST + synthetic blocks: metadata, tensors and bytes come back as written', async () => {
  const specs = sampleSpecs();
  const file = await build(sampleMetadata(), specs);
  const header = await readGgufHeader(memorySource(file));
  assert.equal(header.version, 3);
  assert.deepEqual([...header.metadata], sampleMetadata());
  const layout = await ggufFormat.read(single(file));
  assert.equal(layout.format, 'gguf');
  assert.deepEqual(layout.tensors.map((t) => [t.name, t.dtype, t.shape]), specs.map((s) => [s.name, s.dtype, s.shape]));
  for (let i = 0; i < specs.length; i++) {
    const want = await specs[i]!.read();
    assert.equal(layout.tensors[i]!.byteLength, want.length, specs[i]!.name);
    sameBytes(await layout.tensors[i]!.read(), want, specs[i]!.name);
  }
  const l1 = layout.tensors.find((t) => t.name === 'l1.weight')!;
  assert.deepEqual(l1.shape, [128, 784]);
  assert.deepEqual(decodeGgufArchitecture(layout.architecture).tensors.map((t) => t.type.name).slice(2, 7), ['Q4_0', 'Q8_0', 'Q4_K', 'Q6_K', 'IQ2_XXS']);
  sameBytes(await rewrite(layout), file, 'rewritten file');
});

test('every ggml type: exact block byte size, element dtypes kept, others U8; byte-identical rewrite', async () => {
  const rand = new SeededRandom(11);
  const specs = GGML_TYPES.map((t) => t.dtype
    ? bytesSpec(`t.${t.name}`, t.dtype, [3, 2], rand.bytes(6 * t.typeSize))
    : quantizedSpec(`t.${t.name}`, t.name, 3, 2 * t.blockSize, rand));
  const file = await build([], specs, { version: 2 });
  const layout = await ggufFormat.read(single(file));
  GGML_TYPES.forEach((t, i) => {
    const entry = layout.tensors[i]!;
    assert.equal(entry.byteLength, 3 * 2 * t.typeSize, t.name);
    assert.equal(entry.dtype, t.dtype ?? 'U8', t.name);
    assert.deepEqual(entry.shape, t.dtype ? [3, 2] : [3, 2 * t.typeSize], t.name);
  });
  sameBytes(await rewrite(layout), file, 'rewritten file');
});

test('odd but valid layout: data out of header order, non-zero gaps, tail bytes, alignment 64 -> identical', async () => {
  const rand = new SeededRandom(3);
  const kvs = encodeKvs([['general.alignment', { type: 'UINT32', value: 64 }]]);
  const header = rawGgufHeader({
    kvCount: 1, kvs, alignment: 64,
    infos: [
      { name: 'late', ne: [10], type: 0, offset: 128 },
      { name: 'early', ne: [64], type: 2, offset: 0 }, // Q4_0: 2 blocks of 18 bytes
      { name: 'nothing', ne: [0], type: 0, offset: 64 },
      { name: 'mid', ne: [8], type: 1, offset: 64 },
    ],
  });
  const data = rand.bytes(128 + 40 + 13);
  const file = Buffer.concat([header, data]);
  const layout = await ggufFormat.read(single(file));
  assert.deepEqual(layout.tensors.map((t) => [t.name, t.byteLength]), [['late', 40], ['early', 36], ['nothing', 0], ['mid', 16]]);
  sameBytes(await layout.tensors[0]!.read(), data.subarray(128, 168));
  sameBytes(await layout.tensors[1]!.read(), data.subarray(0, 36));
  sameBytes(await layout.tensors[3]!.read(), data.subarray(64, 80));
  sameBytes(await rewrite(layout), file, 'rewritten file');
});

test('read loads the header region only, never tensor data', async () => {
  const big = bytesSpec('big', 'F32', [1024, 1024], new SeededRandom(5).bytes(4 << 20));
  const file = await build(sampleMetadata(), [big, ...safetensorsSpecs(MNIST)]);
  const src = single(file);
  const layout = await ggufFormat.read(src);
  const headerLength = (await readGgufHeader(memorySource(file))).dataStart;
  assert.ok(src.bytesRead() < headerLength + 256 * 1024, `read ${src.bytesRead()} bytes for a ${headerLength}-byte header`);
  sameBytes(await layout.tensors[0]!.read(), await big.read());
});

test('detect: GGUF by magic; safetensors, short files and multi-file models are not GGUF', async () => {
  const file = await build([], safetensorsSpecs(MNIST));
  assert.equal(await ggufFormat.detect(single(file)), true);
  assert.equal(await ggufFormat.detect(single(file, 'weights.bin')), true);
  assert.equal(await ggufFormat.detect(single(MNIST, 'model.gguf')), false);
  assert.equal(await ggufFormat.detect(single(Uint8Array.of(0x47, 0x47, 0x55))), false);
  const two: ModelSource = { files: ['a', 'b'], open: async () => memorySource(file) };
  assert.equal(await ggufFormat.detect(two), false);
});

test('write: the architecture keeps the file name; wrong tensor sizes are INVALID_ARGUMENT', async () => {
  const file = await build([], safetensorsSpecs(MNIST));
  const layout = await ggufFormat.read(single(file, 'mnist-q.gguf'));
  const sink = memoryModelSink();
  await ggufFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() }, sink);
  assert.deepEqual([...sink.files.keys()], ['mnist-q.gguf']);
  await assert.rejects(
    ggufFormat.write({ architecture: layout.architecture, tensorBytes: async () => new Uint8Array(3) }, memoryModelSink()),
    (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /bytes/.test(e.message),
  );
  await assert.rejects(ggufFormat.write({ architecture: layout.architecture.subarray(0, 40), tensorBytes: async () => new Uint8Array(0) }, memoryModelSink()),
    (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('writer options: alignment is added to the metadata and honoured; version 2 header', async () => {
  const specs = [bytesSpec('a', 'F32', [3], new SeededRandom(1).bytes(12)), bytesSpec('b', 'F16', [5], new SeededRandom(2).bytes(10))];
  const file = await build([['general.name', { type: 'STRING', value: 'x' }]], specs, { alignment: 128, version: 2 });
  const h = await readGgufHeader(memorySource(file));
  assert.equal(h.version, 2);
  assert.equal(h.alignment, 128);
  assert.deepEqual(h.metadata.get('general.alignment'), { type: 'UINT32', value: 128 });
  assert.equal(h.dataStart % 128, 0);
  assert.deepEqual(h.tensors.map((t) => t.offset), [0, 128]);
  assert.equal(file.length, h.dataStart + 256);
});

test('writer rejects what GGUF cannot hold, with INVALID_ARGUMENT', async () => {
  const f32 = (name: string, shape: number[]) => bytesSpec(name, 'F32', shape, new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)));
  const cases: [string, [string, GgufValue][], GgufTensorSpec[], GgufWriteOptions?][] = [
    ['duplicate', [], [f32('a', [1]), f32('a', [1])]],
    ['dimensions', [], [f32('a', [1, 1, 1, 1, 1])]],
    ['U16', [], [bytesSpec('a', 'U16', [1], new Uint8Array(2))]],
    ['expected', [], [bytesSpec('a', 'F32', [2], new Uint8Array(4))]],
    ['blocks', [], [bytesSpec('q', 'U8', [1, 17], new Uint8Array(17), 'Q4_0')]],
    ['ggml type', [], [bytesSpec('q', 'U8', [18], new Uint8Array(18), 'Q4_2')]],
    ['UINT8', [['k', { type: 'UINT8', value: 256 }]], []],
    ['INT64', [['k', { type: 'INT64', value: 1n << 63n }]], []],
    ["'k'[1]: 300 is not a UINT8", [['k', { type: 'ARRAY', elementType: 'UINT8', items: [1, 300] }]], []],
    ["'k'[0]: x is not a FLOAT32", [['k', { type: 'ARRAY', elementType: 'FLOAT32', items: ['x' as unknown as number] }]], []],
    ['array holds ARRAY', [['k', { type: 'ARRAY', elementType: 'ARRAY', items: [7 as unknown as GgufArray] }]], []],
    ['not a BOOL', [['k', { type: 'BOOL', value: 1 as unknown as boolean }]], []],
    ["unknown GGUF value type 'UINT128'", [['k', { type: 'UINT128', value: 1 } as unknown as GgufValue]], []],
    ['duplicate metadata', [['k', { type: 'BOOL', value: true }], ['k', { type: 'BOOL', value: true }]], []],
    ['alignment', [['general.alignment', { type: 'UINT32', value: 48 }]], []],
    ['disagrees', [['general.alignment', { type: 'UINT32', value: 64 }]], [], { alignment: 32 }],
    ['version', [], [], { version: 4 as 3 }],
  ];
  for (const [word, meta, specs, options] of cases) {
    await assert.rejects(build(meta, specs, options), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && e.message.includes(word), word);
  }
});
