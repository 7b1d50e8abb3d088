/** BaseCache: LRU order and memory accounting (by buffer) against a straightforward oracle, and getOrLoad. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaseCache } from './base-cache.js';
import { SeededRandom } from '../env/seeded-random.js';

test('views of one buffer count once; the budget evicts least recently used entries until memory fits', () => {
  const c = new BaseCache(1000);
  const sab = new SharedArrayBuffer(400);
  c.set('a:bytes', new Uint8Array(sab));
  c.set('a:F32', new Float32Array(sab));
  assert.equal(c.stats().bytes, 400);
  c.set('b', new Uint8Array(500));
  assert.equal(c.stats().bytes, 900);
  c.set('c', new Uint8Array(300)); // 1200 > 1000: evicts a:bytes (a:F32 still holds the buffer), then a:F32
  assert.equal(c.get('a:bytes'), undefined);
  assert.equal(c.get('a:F32'), undefined);
  assert.deepEqual([c.stats().entries, c.stats().bytes], [2, 800]);
  c.set('big', new Uint8Array(1001)); // larger than the whole budget: not cached, nothing evicted
  assert.deepEqual([c.get('big'), c.stats().bytes], [undefined, 800]);
  c.set('b', new Uint8Array(100)); // replacing an entry releases the old value's memory
  assert.equal(c.stats().bytes, 400);
  c.clear();
  assert.deepEqual([c.stats().entries, c.stats().bytes], [0, 0]);
});

test('random sets and gets agree with an oracle of entries in LRU order and distinct buffers', () => {
  const r = new SeededRandom(11);
  const budget = 5000;
  const c = new BaseCache(budget);
  const buffers = Array.from({ length: 12 }, () => new ArrayBuffer(200 + r.int(1500)));
  let order: Array<[string, ArrayBuffer]> = []; // least recently used first
  const memory = (): number => [...new Set(order.map(([, b]) => b))].reduce((n, b) => n + b.byteLength, 0);
  for (let step = 0; step < 3000; step++) {
    const id = `k${r.int(20)}`;
    if (r.next() < 0.6) {
      const b = buffers[r.int(buffers.length)]!;
      const view = r.next() < 0.5 ? new Uint8Array(b) : new Float32Array(b, 0, (b.byteLength >> 2) >> 1);
      c.set(id, view);
      order = order.filter(([k]) => k !== id);
      order.push([id, b]);
      while (memory() > budget) order.shift();
    } else {
      const got = c.get(id);
      const i = order.findIndex(([k]) => k === id);
      assert.equal(got === undefined, i < 0, `step ${step}: ${id}`);
      if (i >= 0) {
        assert.equal((got as Uint8Array).buffer, order[i]![1]);
        order.push(order.splice(i, 1)[0]!);
      }
    }
    assert.equal(c.stats().bytes, memory(), `step ${step}`);
    assert.equal(c.stats().entries, order.length, `step ${step}`);
  }
});

test('getOrLoad runs one load for concurrent callers, counts hits and misses, and does not cache failures', async () => {
  const c = new BaseCache(1 << 20);
  let loads = 0;
  const load = async (): Promise<Uint8Array> => {
    loads++;
    await new Promise((res) => setImmediate(res));
    return new Uint8Array(10);
  };
  const [a, b] = await Promise.all([c.getOrLoad('x', load), c.getOrLoad('x', load)]);
  assert.equal(a, b);
  assert.equal(await c.getOrLoad('x', load), a);
  assert.deepEqual([loads, c.stats().hits, c.stats().misses], [1, 2, 1]);
  await assert.rejects(c.getOrLoad('y', () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await c.getOrLoad('y', load).then((v) => v.length), 10);
  assert.equal(loads, 2);
});
