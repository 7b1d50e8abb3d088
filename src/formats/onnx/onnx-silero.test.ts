// The three real Silero VAD models: byte-exact round trip, every tensor found (checked against a protobufjs
// decode walked independently of the wire scanner), and the STFT bases the versions share found by hashing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { memorySink, memorySource } from '../byte-source.js';
import type { ModelLayout, ModelSource } from '../model-format.js';
import { onnxFormat } from './onnx-format.js';
import { decodeOnnxModel, encodeOnnxModel } from './onnx-proto.js';
import { ModelProtoType } from './onnx-schema.js';

ensureFixtures();
const VERSIONS = ['legacy', 'v5', 'v6'] as const;
const files = new Map(VERSIONS.map((v) => [v, new Uint8Array(readFileSync(fixturePath('vad-web', `silero_vad_${v}.onnx`)))]));
const source = (bytes: Uint8Array): ModelSource => ({ files: ['model.onnx'], open: async () => memorySource(bytes) });
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function writeBack(layout: ModelLayout): Promise<Uint8Array> {
  const sink = memorySink();
  await onnxFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() },
    { create: async (name) => { assert.equal(name, 'model.onnx'); return { ...sink, close: async () => {} }; } });
  return sink.bytes();
}

/** Oracle: every TensorProto with a raw_data/float_data payload, found by walking the protobufjs decode. */
function oracleTensors(bytes: Uint8Array): { depth: number; bytes: Uint8Array }[] {
  const out: { depth: number; bytes: Uint8Array }[] = [];
  const tensor = (t: any, depth: number): void => {
    if (t.raw_data?.length) out.push({ depth, bytes: t.raw_data });
    else if (t.float_data?.length) out.push({ depth, bytes: new Uint8Array(new Float32Array(t.float_data).buffer) });
  };
  const graph = (g: any, depth: number): void => {
    for (const t of g.initializer ?? []) tensor(t, depth);
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        if (a.t) tensor(a.t, depth);
        for (const t of a.tensors ?? []) tensor(t, depth);
        if (a.g) graph(a.g, depth + 1);
        for (const s of a.graphs ?? []) graph(s, depth + 1);
      }
    }
  };
  graph((ModelProtoType.decode(bytes) as any).graph, 0);
  return out;
}

for (const v of VERSIONS) {
  test(`silero ${v}: detected, read and written back byte-identically`, async () => {
    const bytes = files.get(v)!;
    assert.equal(await onnxFormat.detect(source(bytes)), true);
    const layout = await onnxFormat.read(source(bytes));
    assert.equal(layout.format, 'onnx');
    const back = await writeBack(layout);
    assert.equal(back.length, bytes.length);
    assert.ok(Buffer.from(back).equals(bytes));
    const tensorBytes = layout.tensors.reduce((n, t) => n + t.byteLength, 0);
    assert.ok(layout.architecture.length + tensorBytes < bytes.length + 64 * 1024, 'architecture holds no tensor data');
    assert.equal(new Set(layout.tensors.map((t) => t.name)).size, layout.tensors.length, 'names are unique');
    const message = await decodeOnnxModel({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i]!.read() });
    assert.ok(Buffer.from(encodeOnnxModel(message)).equals(bytes), 'protobufjs re-encodes this file byte for byte');
  });

  test(`silero ${v}: tensors match an independent protobufjs walk, subgraphs included`, async () => {
    const bytes = files.get(v)!;
    const layout = await onnxFormat.read(source(bytes));
    const oracle = oracleTensors(bytes);
    assert.equal(layout.tensors.length, oracle.length);
    const ours = await Promise.all(layout.tensors.map(async (t) => sha(await t.read())));
    assert.deepEqual(ours.sort(), oracle.map((o) => sha(o.bytes)).sort(), 'the same tensor payloads');
    const inSubgraphs = oracle.filter((o) => o.depth > 0).length;
    const prefixed = layout.tensors.filter((t) => /^If_\d+\//.test(t.name)).length;
    assert.equal(prefixed, inSubgraphs);
    assert.equal(inSubgraphs, v === 'legacy' ? 194 : 344);
    assert.equal(layout.tensors.length - prefixed, v === 'legacy' ? 69 : 0, 'top-level initializers');
    for (const t of layout.tensors) assert.equal((await t.read()).length, t.byteLength);
  });
}

test('silero: the STFT bases shared by the versions have identical bytes', async () => {
  const byHash = new Map<string, Map<string, string[]>>();
  for (const v of VERSIONS) {
    const layout = await onnxFormat.read(source(files.get(v)!));
    for (const t of layout.tensors) {
      if (t.byteLength < 1024) continue;
      const h = sha(await t.read());
      const seen = byHash.get(h) ?? new Map<string, string[]>();
      seen.set(v, [...(seen.get(v) ?? []), `${t.name} ${t.dtype}[${t.shape.join(',')}]`]);
      byHash.set(h, seen);
    }
  }
  const inAll = [...byHash.values()].filter((m) => m.size === 3);
  assert.equal(inAll.length, 1, 'only the 16 kHz STFT basis is in all three');
  assert.match(inAll[0]!.get('legacy')![0]!, /forward_basis_buffer F32\[258,1,256\]$/);
  assert.match(inAll[0]!.get('v5')![0]!, /^If_0\/then_branch\/.*stft\.forward_basis_buffer F32\[258,1,256\]$/);
  const v5v6 = [...byHash.values()].filter((m) => m.has('v5') && m.has('v6'));
  assert.deepEqual(v5v6.map((m) => m.get('v6')![0]!.replace(/.*\s/, '')).sort(), ['F32[130,1,128]', 'F32[258,1,256]']);
  assert.ok(v5v6.every((m) => m.get('v5')![0]!.includes('stft.forward_basis_buffer')), 'v5/v6 share only STFT bases');
});
