// tfjsFormat on real models: every human-models graph model and every face-api weights manifest is detected,
// read lazily and written back byte-identically (JSON and shards); family facts the store relies on (exact
// duplicates across re-exports) hold on the tensors the reader yields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { memorySource } from '../byte-source.js';
import type { ModelLayout, ModelSource } from '../model-format.js';
import { memoryModelSink, memoryModelSource } from '../memory-model-source.js';
import { decodeTfjsArchitecture } from './tfjs-architecture.js';
import { tfjsFormat } from './tfjs-format.js';

function fixtureFiles(dir: string, names: readonly string[]): Record<string, Uint8Array> {
  return Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(fixturePath(dir, n)))]));
}

async function writeBack(layout: ModelLayout): Promise<Map<string, Uint8Array>> {
  const sink = memoryModelSink();
  await tfjsFormat.write({ architecture: layout.architecture, tensorBytes: (i) => layout.tensors[i].read() }, sink);
  return sink.files;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function hashes(layout: ModelLayout): Promise<string[]> {
  return Promise.all(layout.tensors.map(async (t) => sha(await t.read())));
}

/** Detects, reads and writes a fixture model; asserts the files come back identical. */
async function roundTrip(dir: string, files: Record<string, Uint8Array>): Promise<ModelLayout> {
  const source = memoryModelSource(files);
  assert.equal(await tfjsFormat.detect(source), true);
  const layout = await tfjsFormat.read(source);
  assert.equal(layout.format, 'tfjs');
  assert.equal(new Set(layout.tensors.map((t) => t.name)).size, layout.tensors.length, 'names unique');
  const out = await writeBack(layout);
  assert.deepEqual([...out.keys()].sort(), Object.keys(files).sort());
  for (const [name, bytes] of Object.entries(files)) {
    assert.ok(Buffer.from(out.get(name)!).equals(bytes), `${dir}/${name} differs after write-back`);
  }
  return layout;
}

ensureFixtures();
const humanNames = readdirSync(fixturePath('human-models', '.')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
const faceApiNames = readdirSync(fixturePath('face-api', '.')).filter((f) => f.endsWith('-weights_manifest.json')).map((f) => f.replace('-weights_manifest.json', '')).sort();

async function readHuman(name: string): Promise<ModelLayout> {
  return tfjsFormat.read(memoryModelSource(fixtureFiles('human-models', [`${name}.json`, `${name}.bin`])));
}

async function readFaceApi(name: string): Promise<ModelLayout> {
  return tfjsFormat.read(memoryModelSource(fixtureFiles('face-api', [`${name}-weights_manifest.json`, `${name}.bin`])));
}

test('all 41 human-models graph models round-trip byte-identically', async () => {
  assert.equal(humanNames.length, 41);
  for (const name of humanNames) {
    const files = fixtureFiles('human-models', [`${name}.json`, `${name}.bin`]);
    const layout = await roundTrip('human-models', files);
    const manifest = JSON.parse(Buffer.from(files[`${name}.json`]).toString()).weightsManifest;
    assert.equal(layout.tensors.length, manifest[0].weights.length, name);
    assert.equal(layout.tensors.reduce((s, t) => s + t.byteLength, 0), files[`${name}.bin`].length, name);
    assert.equal(decodeTfjsArchitecture(layout.architecture).kind, 'model');
  }
});

test('all 7 face-api weights manifests round-trip; their uint8 weights are U8 tensors', async () => {
  assert.equal(faceApiNames.length, 7);
  let u8 = 0;
  for (const name of faceApiNames) {
    const layout = await roundTrip('face-api', fixtureFiles('face-api', [`${name}-weights_manifest.json`, `${name}.bin`]));
    assert.equal(decodeTfjsArchitecture(layout.architecture).kind, 'weights');
    u8 += layout.tensors.filter((t) => t.dtype === 'U8').length;
  }
  assert.equal(u8, 419); // uint8 entries across the seven manifests, counted independently with python
});

test('human-models dtypes: float16-quantized weights are F16, plain ones F32/I32', async () => {
  const antispoof = await readHuman('antispoof');
  assert.deepEqual(
    [...new Set(antispoof.tensors.map((t) => t.dtype))].sort(),
    ['F16', 'I32'],
  );
  const first = antispoof.tensors.find((t) => t.dtype === 'F16')!;
  assert.equal(first.byteLength, first.shape.reduce((a, b) => a * b, 1) * 2);
});

test('blazeface and blazeface-back yield identical bytes for every tensor', async () => {
  const [a, b] = await Promise.all([readHuman('blazeface'), readHuman('blazeface-back')]);
  assert.equal(a.tensors.length, 112);
  assert.deepEqual(b.tensors.map((t) => [t.name, t.dtype, t.shape]), a.tensors.map((t) => [t.name, t.dtype, t.shape]));
  assert.deepEqual(await hashes(b), await hashes(a));
});

test('facemesh-attention and its PINTO re-export share tensors by content under other names', async () => {
  const [a, b] = await Promise.all([readHuman('facemesh-attention'), readHuman('facemesh-attention-pinto')]);
  const [ha, hb] = await Promise.all([hashes(a), hashes(b)]);
  const namesA = new Set(a.tensors.map((t) => t.name));
  assert.equal(b.tensors.filter((t) => namesA.has(t.name)).length, 0, 'no name in common');
  const inA = new Set(ha);
  const shared = (minBytes: number) =>
    new Set(hb.filter((h, i) => inA.has(h) && b.tensors[i].byteLength >= minBytes)).size;
  // 308 distinct contents are shared in all; 80 of them are tiny (<= 64 bytes: shape constants, short
  // biases). The 228 the issue names are the shared tensors of more than 64 bytes.
  assert.equal(shared(0), 308);
  assert.equal(shared(65), 228);
  assert.equal(hb.filter((h) => inA.has(h)).length, 503, 'PINTO tensors found in the original');
});

test('face_expression vs face_landmark_68: same names and mostly same shapes, no byte-identical tensor', async () => {
  const [expr, land] = await Promise.all([readFaceApi('face_expression_model'), readFaceApi('face_landmark_68_model')]);
  assert.equal(expr.tensors.length, 49);
  assert.equal(land.tensors.length, 49);
  const byName = new Map(land.tensors.map((t) => [t.name, t]));
  const sameShape = expr.tensors.filter((t) => JSON.stringify(byName.get(t.name)?.shape) === JSON.stringify(t.shape));
  assert.equal(expr.tensors.filter((t) => byName.has(t.name)).length, 49);
  assert.equal(sameShape.length, 47); // all but the heads: fc weights and bias (7 expressions vs 136 landmarks)
  const landHashes = new Set(await hashes(land));
  assert.equal((await hashes(expr)).filter((h) => landHashes.has(h)).length, 0);
});

test('detect is false for shards alone, empty sources and non-TF.js JSON', async () => {
  const bin = fixtureFiles('human-models', ['emotion.bin']);
  assert.equal(await tfjsFormat.detect(memoryModelSource(bin)), false);
  assert.equal(await tfjsFormat.detect(memoryModelSource({})), false);
  const other = { 'config.json': new TextEncoder().encode('{"architectures": ["Bert"]}') };
  assert.equal(await tfjsFormat.detect(memoryModelSource(other)), false);
});

test('read touches only the JSON (and a 512-byte sniff of each shard); a tensor read fetches its own bytes', async () => {
  const files = fixtureFiles('human-models', ['faceres.json', 'faceres.bin']);
  const fetched = new Map<string, number>();
  const source: ModelSource = {
    files: Object.keys(files),
    async open(file) {
      const inner = memorySource(files[file]);
      return {
        size: inner.size,
        read: async (offset: number, length: number) => {
          fetched.set(file, (fetched.get(file) ?? 0) + length);
          return inner.read(offset, length);
        },
      };
    },
  };
  const layout = await tfjsFormat.read(source);
  assert.equal(fetched.get('faceres.bin'), 512, 'only the content sniff of the shard');
  assert.equal(fetched.get('faceres.json'), files['faceres.json'].length + 512);
  const big = layout.tensors.reduce((a, b) => (b.byteLength > a.byteLength ? b : a));
  const bytes = await big.read();
  assert.equal(bytes.length, big.byteLength);
  assert.equal(fetched.get('faceres.bin'), 512 + big.byteLength);
});
