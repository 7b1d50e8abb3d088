// Malformed models: every case is an INVALID_ARGUMENT naming the problem, never another error or a hang.
// Ends with a seeded fuzz over a real model: truncations and byte flips are either read (and then written back
// byte-identically) or rejected with INVALID_ARGUMENT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isNeurStoreError } from '../../errors.js';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { memorySink, memorySource } from '../byte-source.js';
import type { ModelLayout, ModelSource } from '../model-format.js';
import { memoryModelSource } from '../memory-model-source.js';
import { decodeOnnxArchitecture } from './onnx-architecture.js';
import { onnxFormat } from './onnx-format.js';
import { encodeOnnxModel } from './onnx-proto.js';
import { scanOnnxModel } from './onnx-scan.js';
import { SeededRandom } from '../../env/seeded-random.js';

ensureFixtures();

const one = (b: Uint8Array): ModelSource => ({ files: ['m.onnx'], open: async () => memorySource(b) });
const many = (files: Record<string, Uint8Array>): ModelSource => memoryModelSource(files);
const model = (graph: Record<string, unknown>): Uint8Array => encodeOnnxModel({ ir_version: 9, graph });
/** A model whose graph payload is the given raw bytes. */
const rawGraph = (payload: number[]): Uint8Array => new Uint8Array([0x08, 0x09, 0x3a, payload.length, ...payload]);

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `INVALID_ARGUMENT, got ${String(e)}`);
    assert.match(e.message, message);
    return true;
  });
}

test('broken protobuf structure', async () => {
  const v5 = new Uint8Array(readFileSync(fixturePath('vad-web', 'silero_vad_v5.onnx')));
  await rejects(onnxFormat.read(one(v5.subarray(0, v5.length >> 1))), /claims \d+ bytes, only \d+ remain/);
  await rejects(onnxFormat.read(one(rawGraph([0x0a, 0x40, 0x01, 0x02]))), /field 1 at byte \d+ claims 64 bytes, only 2 remain/);
  await rejects(onnxFormat.read(one(rawGraph([0x08, 0x01]))), /GraphProto.node \(field 1\) has wire type 0, expected 2/);
  await rejects(onnxFormat.read(one(rawGraph([0x2a, 0x02, 0x48, 0x01]))), /TensorProto.raw_data \(field 9\) has wire type 0/);
  await rejects(onnxFormat.read(one(rawGraph([0x0b, 0x0c]))), /unsupported wire type 3/);
  await rejects(onnxFormat.read(one(rawGraph([0x18, ...Array(10).fill(0xff), 0x01]))), /varint longer than 10 bytes/);
  await rejects(onnxFormat.read(one(rawGraph([0x00]))), /field number 0/);
  await rejects(onnxFormat.read(one(rawGraph([0x18]))), /truncated varint/);
  await rejects(onnxFormat.read(one(encodeOnnxModel({ ir_version: 9 }))), /not an ONNX ModelProto/);
  await rejects(onnxFormat.read(many({ 'a.bin': new Uint8Array([1, 2, 3]), 'b.bin': new Uint8Array(0) })), /no file of the model/);
});

test('tensors that disagree with themselves', async () => {
  const t = (extra: Record<string, unknown>) => model({ initializer: [{ name: 'w', data_type: 1, dims: [4], ...extra }] });
  await rejects(onnxFormat.read(one(t({ raw_data: new Uint8Array(12) }))), /'w' has 12 data bytes, but FLOAT \[4\] needs 16/);
  await rejects(onnxFormat.read(one(t({ float_data: [1, 2, 3] }))), /'w' has 12 data bytes/);
  await rejects(onnxFormat.read(one(t({ raw_data: new Uint8Array(16), data_type: 99 }))), /'w' has unknown ONNX data_type 99/);
  await rejects(onnxFormat.read(one(t({ raw_data: new Uint8Array(16), data_type: 6, float_data: [1, 2, 3, 4] }))),
    /'w' has 2 data fields/);
  await rejects(onnxFormat.read(one(t({ data_type: 6, float_data: [1, 2, 3, 4] }))), /INT32 stores its data in float_data/);
  await rejects(onnxFormat.read(one(t({ dims: [-1], raw_data: new Uint8Array(4) }))), /dimension -1 is invalid/);
  await rejects(onnxFormat.read(one(t({ data_type: 0, raw_data: new Uint8Array(16) }))), /'w' has data but no data_type/);
  const huge = model({ initializer: [{ name: 'h', data_type: 1, dims: [2 ** 40, 2 ** 40], raw_data: new Uint8Array(1) }] });
  await rejects(onnxFormat.read(one(huge)), /too large/);
});

test('subgraph bombs: nesting depth and node count are capped', async () => {
  // Built on the wire by hand: protobufjs itself refuses to encode messages this deep.
  const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(Math.floor(n / 128))]);
  const ld = (no: number, payload: number[]): number[] => [(no << 3) | 2, ...varint(payload.length), ...payload];
  let g: number[] = [];
  for (let i = 0; i < 40; i++) g = ld(1, ld(5, [...ld(1, [0x67]), ...ld(6, g)])); // node { attribute { name: 'g', g } }
  await rejects(onnxFormat.read(one(new Uint8Array([0x08, 0x09, ...ld(7, g)]))), /subgraphs nested deeper than 32 levels/);
  const flat = model({ node: Array.from({ length: 11 }, () => ({ op_type: 'Relu' })) });
  assert.throws(() => scanOnnxModel(flat, { maxGraphDepth: 32, maxNodes: 10 }),
    (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT') && /more than 10 nodes/.test(e.message));
  assert.equal(scanOnnxModel(flat, { maxGraphDepth: 32, maxNodes: 11 }).tensors.length, 0);
});

test('external data that is missing, out of range or outside the folder', async () => {
  const ext = (entries: Record<string, string>, name = 'w') => ({ name, data_type: 1, dims: [2], data_location: 1,
    external_data: Object.entries(entries).map(([key, value]) => ({ key, value })) });
  const withData = (entries: Record<string, string>[], data = new Uint8Array(16)) =>
    many({ 'm.onnx': model({ initializer: entries.map((e, i) => ext(e, `w${i}`)) }), 'd.bin': data });
  await rejects(onnxFormat.read(withData([{ location: 'nope.bin' }])), /needs external data file 'nope.bin'/);
  await rejects(onnxFormat.read(withData([{ location: 'd.bin', offset: '12' }])), /reads 8 bytes at 12 past the end of 'd.bin'/);
  await rejects(onnxFormat.read(withData([{ location: 'd.bin', length: '4' }])), /external length 4, but its shape needs 8/);
  await rejects(onnxFormat.read(withData([{ location: '../d.bin' }])), /outside the model's folder/);
  await rejects(onnxFormat.read(withData([{ location: '/etc/passwd' }])), /outside the model's folder/);
  await rejects(onnxFormat.read(withData([{ location: 'm.onnx' }])), /external data in the model file 'm.onnx' itself/);
  await rejects(onnxFormat.read(withData([{ location: 'd.bin', offset: '-3' }])), /offset '-3', expected a non-negative integer/);
  await rejects(onnxFormat.read(withData([{ offset: '0' }])), /'w0' has external data without a location/);
  await rejects(onnxFormat.read(withData([{ location: 'd.bin' }, { location: 'd.bin', offset: '4' }])), /overlap in 'd.bin'/);
  const shared = await onnxFormat.read(withData([{ location: 'd.bin' }, { location: 'd.bin' }]));
  assert.equal(shared.tensors.length, 2, 'two tensors may share the same external range');
});

test('write rejects tensors of the wrong size and malformed architectures', async () => {
  const layout: ModelLayout = await onnxFormat.read(one(model({ initializer: [{ name: 'w', data_type: 2, dims: [4], raw_data: new Uint8Array(4) }] })));
  const sink = { create: async () => ({ ...memorySink(), close: async () => {} }) };
  await rejects(onnxFormat.write({ architecture: layout.architecture, tensorBytes: async () => new Uint8Array(3) }, sink),
    /tensor 0 has 3 bytes, the ONNX model needs 4/);
  const arch = layout.architecture;
  await rejects(onnxFormat.write({ architecture: arch.subarray(1), tensorBytes: async () => new Uint8Array(4) }, sink), /bad magic/);
  await rejects(onnxFormat.write({ architecture: arch.subarray(0, arch.length - 1), tensorBytes: async () => new Uint8Array(4) }, sink),
    /body bytes/);
  const bad = Uint8Array.from(arch);
  bad[12] = 0x7b; // '{' -> '{{': header no longer JSON
  bad[13] = 0x7b;
  await rejects(onnxFormat.write({ architecture: bad, tensorBytes: async () => new Uint8Array(4) }, sink), /not valid JSON|malformed/);
});

test('fuzz: truncated and bit-flipped Silero v5 is read exactly or rejected with INVALID_ARGUMENT', async () => {
  const original = new Uint8Array(readFileSync(fixturePath('vad-web', 'silero_vad_v5.onnx')));
  const { cuts } = decodeOnnxArchitecture((await onnxFormat.read(one(original))).architecture);
  const structural: [number, number][] = []; // file ranges outside tensor payloads, where flips matter most
  let at = 0;
  for (const [s, e] of cuts) { if (s > at) structural.push([at, s]); at = e; }
  structural.push([at, original.length]);
  const rand = new SeededRandom(2024);
  const pick = (): number => {
    if (rand.next() < 0.15) return rand.int(original.length);
    const [s, e] = structural[rand.int(structural.length)]!;
    return s + rand.int(e - s);
  };
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 100; i++) {
    const pos = pick();
    const bytes = rand.next() < 0.25 ? original.slice(0, pos) : original.slice();
    if (bytes.length === original.length) bytes[pos] ^= 1 + rand.int(255);
    assert.equal(typeof (await onnxFormat.detect(one(bytes))), 'boolean');
    let layout: ModelLayout;
    try {
      layout = await onnxFormat.read(one(bytes));
    } catch (e) {
      assert.ok(isNeurStoreError(e, 'INVALID_ARGUMENT'), `case ${i} (byte ${pos}): ${String(e)}`);
      rejected++;
      continue;
    }
    accepted++;
    const sink = memorySink();
    await onnxFormat.write({ architecture: layout.architecture, tensorBytes: (k) => layout.tensors[k]!.read() },
      { create: async () => ({ ...sink, close: async () => {} }) });
    assert.ok(Buffer.from(sink.bytes()).equals(bytes), `case ${i} (byte ${pos}) writes back what it read`);
  }
  assert.ok(accepted > 10 && rejected > 10, `both outcomes occur (accepted ${accepted}, rejected ${rejected})`);
});
