// Synthetic models built with the schema: every element type, typed data fields, Constant nodes, nested
// subgraphs, sparse initializers, functions, training graphs, and external data (loaded by ONNX Runtime).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { memorySink } from '../byte-source.js';
import type { ModelLayout, ModelSource } from '../model-format.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import { onnxFormat } from './onnx-format.js';
import { decodeOnnxModel, encodeOnnxModel, tensorMessages } from './onnx-proto.js';
import { SeededRandom } from '../../env/seeded-random.js';

const f32 = (xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);
const i64 = (xs: number[]): Uint8Array => new Uint8Array(new BigInt64Array(xs.map(BigInt)).buffer);
const read = async (t: { read(): Promise<Uint8Array> }): Promise<Uint8Array> => new Uint8Array(await t.read());

function model(graph: Record<string, unknown>, extra: Record<string, unknown> = {}): Uint8Array {
  return encodeOnnxModel({ ir_version: 9, opset_import: [{ domain: '', version: 17 }], graph, ...extra });
}

async function writeAll(layout: ModelLayout): Promise<Record<string, Uint8Array>> {
  const sink = memoryModelSink();
  await onnxFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() }, sink);
  return Object.fromEntries(sink.files);
}

async function roundTrip(files: Record<string, Uint8Array>): Promise<ModelLayout> {
  const layout = await onnxFormat.read(memoryModelSource(files));
  const back = await writeAll(layout);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(files).sort());
  for (const [f, b] of Object.entries(files)) assert.ok(Buffer.from(back[f]!).equals(b), `${f} is byte-identical`);
  return layout;
}

// Expected store dtype and bits per element of every ONNX type code, written out from the spec.
const EXPECTED: Record<number, [string, number]> = {
  1: ['F32', 32], 2: ['U8', 8], 3: ['I8', 8], 4: ['U16', 16], 5: ['I16', 16], 6: ['I32', 32], 7: ['I64', 64],
  9: ['BOOL', 8], 10: ['F16', 16], 11: ['F64', 64], 12: ['U32', 32], 13: ['U64', 64], 14: ['F32', 64],
  15: ['F64', 128], 16: ['BF16', 16], 17: ['F8_E4M3', 8], 18: ['U8', 8], 19: ['F8_E5M2', 8], 20: ['U8', 8],
  21: ['U8', 4], 22: ['U8', 4], 23: ['U8', 4], 24: ['U8', 8], 25: ['U8', 2], 26: ['U8', 2],
};

test('every ONNX element type maps to a store dtype and round-trips', async () => {
  const rand = new SeededRandom(1);
  const codes = Object.keys(EXPECTED).map(Number);
  const payloads = codes.map((c) => rand.bytes(Math.ceil((6 * EXPECTED[c]![1]) / 8)));
  const initializer = codes.map((c, i) => ({ name: `t${c}`, data_type: c, dims: [2, 3], raw_data: payloads[i] }));
  const layout = await roundTrip({ 'm.onnx': model({ name: 'g', initializer }) });
  assert.equal(layout.tensors.length, codes.length);
  for (const [i, c] of codes.entries()) {
    const t = layout.tensors[i]!;
    const [dtype, bits] = EXPECTED[c]!;
    assert.equal(t.name, `t${c}`);
    assert.equal(t.dtype, dtype, `type ${c}`);
    const shape = c === 14 || c === 15 ? [2, 3, 2] : bits < 8 ? [payloads[i]!.length] : [2, 3];
    assert.deepEqual(t.shape, shape, `type ${c}`);
    assert.deepEqual(await read(t), payloads[i]);
  }
});

test('typed fields: packed float/double data are tensors, varint and string data stay in the architecture', async () => {
  const initializer = [
    { name: 'f', data_type: 1, dims: [3], float_data: [1.5, -2, 3.25] },
    { name: 'd', data_type: 11, dims: [2], double_data: [Math.PI, -1e300] },
    { name: 'c64', data_type: 14, dims: [1], float_data: [1, 2] },
    { name: 'i32', data_type: 6, dims: [2], int32_data: [-1, 7] },
    { name: 'i64', data_type: 7, dims: [1], int64_data: [-5] },
    { name: 'u64', data_type: 13, dims: [1], uint64_data: [5] },
    { name: 's', data_type: 8, dims: [1], string_data: [new TextEncoder().encode('hi')] },
    { name: 'empty', data_type: 1, dims: [0] },
  ];
  const layout = await roundTrip({ 'm.onnx': model({ initializer }) });
  assert.deepEqual(layout.tensors.map((t) => `${t.name}:${t.dtype}[${t.shape.join(',')}]`), ['f:F32[3]', 'd:F64[2]', 'c64:F32[1,2]']);
  assert.deepEqual(await read(layout.tensors[0]!), f32([1.5, -2, 3.25]));
  assert.deepEqual(await read(layout.tensors[1]!), new Uint8Array(new Float64Array([Math.PI, -1e300]).buffer));
  const decoded = await decodeOnnxModel({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() });
  const byName = new Map(tensorMessages(decoded).map((t) => [t['name'], t]));
  assert.deepEqual(byName.get('i32')!['int32_data'], [-1, 7]);
  assert.equal(String(byName.get('i64')!['int64_data']), '-5');
});

test('Constant nodes, tensor attributes, nested subgraphs, sparse, functions and training graphs are found', async () => {
  const rand = new SeededRandom(2);
  const raw = (name: string, n: number): Record<string, unknown> => ({ name, data_type: 2, dims: [n], raw_data: rand.bytes(n) });
  const constant = (output: string, t: Record<string, unknown>): Record<string, unknown> =>
    ({ op_type: 'Constant', output: [output], attribute: [{ name: 'value', type: 4, t }] });
  const body = { initializer: [raw('w', 3)], node: [constant('k', raw('', 2))] };
  const thenG = { node: [{ op_type: 'Loop', name: 'loop', attribute: [{ name: 'body', type: 5, g: body }] }], initializer: [raw('w', 4)],
    sparse_initializer: [{ values: raw('', 1), indices: raw('', 1), dims: [4] }] };
  const graph = {
    node: [
      constant('c0', { data_type: 1, dims: [3], float_data: [1, 2, 3] }),
      { op_type: 'If', attribute: [{ name: 'then_branch', type: 5, g: thenG }, { name: 'else_branch', type: 5, g: { initializer: [raw('w', 5)] } }] },
      { op_type: 'ConstantOfShape', attribute: [{ name: 'value', type: 4, t: raw('', 1) }] },
      { op_type: 'Custom', attribute: [{ name: 'ts', type: 9, tensors: [raw('', 2), raw('', 2)] }] },
    ],
    initializer: [raw('dup', 1), raw('dup', 2), raw('dup#2', 3)],
    sparse_initializer: [{ values: raw('sv', 2), indices: { data_type: 7, dims: [2], raw_data: i64([1, 4]) }, dims: [8] }],
  };
  const functions = [{ name: 'f', domain: 'custom', node: [constant('fc', raw('', 6))] }];
  const training_info = [{ initialization: { initializer: [raw('w2', 7)] } }];
  const layout = await roundTrip({ 'm.onnx': model(graph, { functions, training_info }) });
  assert.deepEqual(layout.tensors.map((t) => t.name).sort(), [
    'c0', 'If_1/then_branch/loop/body/k', 'If_1/then_branch/loop/body/w', 'If_1/then_branch/w', 'If_1/else_branch/w',
    'ConstantOfShape_2/value', 'Custom_3/ts[0]', 'Custom_3/ts[1]', 'dup', 'dup#3', 'dup#2',
    'sv/values', 'sv/indices', 'If_1/then_branch/sparse_initializer0/values', 'If_1/then_branch/sparse_initializer0/indices', 'training_info0/initialization/w2', 'functions/custom.f/fc',
  ].sort());
  const sizes = Object.fromEntries(layout.tensors.map((t) => [t.name, t.byteLength]));
  assert.equal(sizes['If_1/then_branch/loop/body/w'], 3);
  assert.equal(sizes['If_1/else_branch/w'], 5);
  assert.equal(sizes['dup#3'], 2);
  assert.deepEqual(await read(layout.tensors.find((t) => t.name === 'sv/indices')!), i64([1, 4]));
});

function externalModel(): Record<string, Uint8Array> {
  const ext = (name: string, location: string, offset: number): Record<string, unknown> => ({
    name, data_type: 1, dims: [2], data_location: 1,
    external_data: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: '8' }],
  });
  const vec = { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 2 }] } } };
  const onnx = model({
    name: 'ext',
    node: [{ op_type: 'Add', input: ['X', 'W'], output: ['Y'] }, { op_type: 'Mul', input: ['Y', 'B'], output: ['Z'] }],
    initializer: [ext('W', 'w.bin', 16), ext('B', './sub/b.bin', 0)],
    input: [{ name: 'X', type: vec }],
    output: [{ name: 'Z', type: vec }],
  });
  const w = new Uint8Array(29);
  w.fill(0xab, 0, 16);
  w.set(f32([10, 20]), 16);
  w.set([1, 2, 3, 4, 5], 24);
  return { 'w.bin': w, 'model.onnx': onnx, 'sub/b.bin': f32([2, 3]) };
}

test('external data: tensors come from the data files, which are rebuilt byte for byte', async () => {
  const files = externalModel();
  assert.equal(await onnxFormat.detect(memoryModelSource(files)), true);
  const layout = await roundTrip(files);
  assert.deepEqual(layout.tensors.map((t) => t.name), ['W', 'B']);
  assert.deepEqual(await read(layout.tensors[0]!), f32([10, 20]));
  assert.deepEqual(await read(layout.tensors[1]!), f32([2, 3]));
  const stored = { architecture: layout.architecture, tensorBytes: (i: number) => layout.tensors[i]!.read() };
  const inlined = encodeOnnxModel(await decodeOnnxModel(stored));
  const session = await ort.InferenceSession.create(inlined);
  const out = await session.run({ X: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]) });
  assert.deepEqual(Array.from(out['Z']!.data as Float32Array), [22, 66]);
  await session.release();
});

test('detection is by content: models yes, other bytes no', async () => {
  const one = (b: Uint8Array): ModelSource => memoryModelSource({ 'x.bin': b });
  assert.equal(await onnxFormat.detect(one(model({ name: 'g' }))), true);
  for (const b of [new Uint8Array(0), new TextEncoder().encode('{"format":"graph-model"}'), new SeededRandom(3).bytes(4096),
    encodeOnnxModel({ ir_version: 9 }), new Uint8Array([0x08, 0x09, 0x38, 0x01])]) {
    assert.equal(await onnxFormat.detect(one(b)), false);
  }
});

test('changed tensor bytes of the same length (lossy store) are spliced in place, inline and external', async () => {
  const files = externalModel();
  const inlineModel = model({ initializer: [{ name: 'a', data_type: 1, dims: [2], raw_data: f32([1, 2]) },
    { name: 'b', data_type: 1, dims: [1], float_data: [5] }] });
  for (const input of [{ 'm.onnx': inlineModel }, files]) {
    const layout = await onnxFormat.read(memoryModelSource(input));
    const changed = (i: number): Uint8Array => f32(Array.from({ length: layout.tensors[i]!.byteLength / 4 }, (_, k) => 100 * i + k));
    const out: Record<string, Uint8Array> = {};
    await onnxFormat.write({ architecture: layout.architecture, tensorBytes: async (i) => changed(i) }, {
      create: async (file) => {
        const s = memorySink();
        return { write: (c) => s.write(c), close: async () => { out[file] = s.bytes(); } };
      },
    });
    const again = await onnxFormat.read(memoryModelSource(out));
    assert.deepEqual(again.tensors.map((t) => t.name), layout.tensors.map((t) => t.name));
    for (const [i, t] of again.tensors.entries()) assert.deepEqual(await read(t), changed(i));
  }
});
