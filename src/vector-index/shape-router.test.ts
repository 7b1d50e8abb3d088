// Shape routing, transposed matching (element (i,j) against (j,i)), removal and bad shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantize8, type Quant8 } from '../codecs/quant8.js';
import { isNeurStoreError } from '../errors.js';
import { Quant8L2Space } from './quant8-l2-space.js';
import { transposeFloat32, transposeQuant8 } from './quant8-transpose.js';
import { SeededRandom } from '../env/seeded-random.js';
import { parseShapeKey, shapeKey, ShapeRouter } from './shape-router.js';

const rng = new SeededRandom(21);
const randn = (n: number) => Float32Array.from({ length: n }, () => rng.gaussian());
const noisy = (x: Float32Array, a: number) => x.map((v) => v + a * rng.gaussian());

function setup(considerTransposed = true) {
  const vs: Quant8[] = [];
  const router = new ShapeRouter(new Quant8L2Space(), (id) => vs[id]!, { hnsw: { seed: 3 }, considerTransposed });
  const add = (shape: number[], x: Float32Array): number => {
    vs.push(quantize8(x));
    router.insert(vs.length - 1, shape, vs[vs.length - 1]!);
    return vs.length - 1;
  };
  return { router, add };
}

test('transpose helpers swap (i,j) and (j,i) and invert themselves', () => {
  const x = randn(12);
  const t = transposeFloat32(x, 3, 4);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) assert.equal(t[j * 3 + i], x[i * 4 + j]);
  assert.deepEqual(transposeFloat32(t, 4, 3), x);
  const q = quantize8(randn(70 * 33));
  const qt = transposeQuant8(q, 70, 33);
  assert.equal(qt.min, q.min);
  assert.deepEqual(transposeQuant8(qt, 33, 70).codes, q.codes);
  assert.equal(qt.codes[5 * 70 + 9], q.codes[9 * 33 + 5]);
  assert.throws(() => transposeQuant8(q, 7, 7), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
});

test('queries go to their own shape; a transposed layout is found and flagged', () => {
  const { router, add } = setup();
  const bases = Array.from({ length: 12 }, () => randn(8 * 12));
  const ids = bases.map((b) => add([8, 12], b));
  const other = add([96], randn(96));
  for (let i = 0; i < bases.length; i++) {
    const direct = router.search([8, 12], noisy(bases[i]!, 0.01), 3);
    assert.equal(direct[0]!.id, ids[i]);
    assert.equal(direct[0]!.transposed, false);
    assert.ok(direct.every((h) => h.id !== other && h.shapeKey === '8x12'));
    const flipped = router.search([12, 8], transposeFloat32(noisy(bases[i]!, 0.01), 8, 12), 2);
    assert.deepEqual([flipped[0]!.id, flipped[0]!.transposed, flipped[0]!.shapeKey], [ids[i], true, '8x12']);
  }
  const nt = setup(false);
  nt.add([8, 12], bases[0]!);
  assert.deepEqual(nt.router.search([12, 8], transposeFloat32(bases[0]!, 8, 12), 1), []);
});

test('square matrices also match their own transpose; each id is reported once', () => {
  const { router, add } = setup();
  const sym = randn(100);
  const a = add([10, 10], sym);
  add([10, 10], randn(100));
  const hits = router.search([10, 10], transposeFloat32(sym, 10, 10), 5);
  assert.deepEqual([hits[0]!.id, hits[0]!.transposed], [a, true]);
  assert.equal(new Set(hits.map((h) => h.id)).size, hits.length);
  const plain = router.search([10, 10], sym, 5);
  assert.deepEqual([plain[0]!.id, plain[0]!.transposed, plain[0]!.distance], [a, false, plain[0]!.distance]);
});

test('remove forgets ids and drops empty shapes; bad shapes are INVALID_ARGUMENT', () => {
  const { router, add } = setup();
  const a = add([4, 5], randn(20));
  const b = add([4, 5], randn(20));
  const c = add([], randn(1));
  assert.deepEqual(router.shapeKeys(), ['4x5', 'scalar']);
  assert.equal(router.remove(a), true);
  assert.equal(router.remove(a), false);
  assert.deepEqual(router.search([4, 5], randn(20), 5).map((h) => h.id), [b]);
  router.remove(b);
  router.remove(c);
  assert.deepEqual(router.shapeKeys(), []);
  assert.equal(router.size, 0);
  const bad = (f: () => unknown, re: RegExp) =>
    assert.throws(f, (e) => isNeurStoreError(e, 'INVALID_ARGUMENT') && re.test((e as Error).message));
  bad(() => add([4, 4], randn(20)), /does not hold 20/);
  bad(() => add([-1, 5], randn(5)), /bad dimension/);
  bad(() => router.search([3, 3], randn(10), 1), /does not hold 10/);
  const d = add([2, 2], randn(4));
  bad(() => router.insert(d, [2, 2], quantize8(randn(4))), /already/);
  assert.deepEqual(parseShapeKey(shapeKey([3, 1, 7])), [3, 1, 7]);
  assert.deepEqual(parseShapeKey('scalar'), []);
  bad(() => parseShapeKey('3xq'), /bad shape key/);
  bad(() => router.search(7 as unknown as number[], randn(4), 1), /shape must be an array/);
  bad(() => router.search([2, 2], 'x' as unknown as Float32Array, 1), /not a Quant8/);
});
