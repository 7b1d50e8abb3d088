// Concurrency tests: 2 and 4 worker threads on one shared FINEdex index, checked against sequential oracles;
// scans that stay sorted and complete while a background worker retrains models. Seeded and repeatable
// in what they check (the interleaving varies, the asserted properties hold for every interleaving).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FineIndex } from './fine-index.js';
import { OP_DELETE, OP_GET, OP_INSERT, randomOps, sharedKeys } from './random-ops.js';
import { RetrainWorker } from './retrain-worker.js';
import { spawnWorker } from '../env/spawn-worker.js';
import type { WorkerTask } from './concurrency.worker.js';
import { PairRun, toBig } from './u64.js';

const STABLE = 3000;

function runWorker<T>(task: WorkerTask): Promise<T> {
  const w = spawnWorker(new URL('./concurrency.worker.js', import.meta.url));
  w.postMessage(task);
  return new Promise<T>((resolve, reject) => {
    w.once('message', (m: T) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

function freshIndex(): FineIndex {
  const idx = FineIndex.create({ epsilon: 8, maxModelKeys: 256 });
  const run = new PairRun(STABLE);
  for (let i = 0; i < STABLE; i++) run.push(9, i * 1000, 0, i);
  idx.bulkLoadRun(run);
  return idx;
}

/** Replays worker `w`'s ops on a Map; asserts every result; returns the map (key -> value bigint). */
function replay(task: WorkerTask, results: number[], into: Map<bigint, bigint>): void {
  const ops = randomOps(task.seed, task.ops, task.worker, task.workers, task.keySpace);
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    const k = toBig(o.khi, o.klo);
    const v = toBig(o.vhi, o.vlo);
    const [r0, r1, r2] = results.slice(3 * i, 3 * i + 3);
    if (o.kind === OP_GET) {
      const want = into.get(k);
      assert.equal(r0 === 1 ? toBig(r1, r2) : undefined, want, `worker ${task.worker} op ${i} get`);
    } else if (o.kind === OP_DELETE) assert.equal(r0 === 1, into.delete(k), `worker ${task.worker} op ${i} delete`);
    else {
      const had = into.has(k);
      assert.equal(r0 === 1, !had, `worker ${task.worker} op ${i} ${o.kind === OP_INSERT ? 'insert' : 'set'}`);
      if (o.kind !== OP_INSERT || !had) into.set(k, v);
    }
  }
}

async function randomizedRun(workers: number, seed: number): Promise<void> {
  const idx = freshIndex();
  const shared = 4000;
  const tasks: WorkerTask[] = [];
  for (let w = 0; w < workers; w++) {
    tasks.push({ role: 'ops', handle: idx.handle(), seed, worker: w, workers, ops: 16_000, keySpace: 6000, shared });
  }
  const outs = await Promise.all(tasks.map((t) => runWorker<{ results: number[]; won: number[] }>(t)));
  const oracle = new Map<bigint, bigint>();
  for (let i = 0; i < STABLE; i++) oracle.set(toBig(9, i * 1000), BigInt(i));
  tasks.forEach((t, w) => replay(t, outs[w].results, oracle));
  // Racing inserts of the shared keys: exactly one winner per key, and the winner's value stayed.
  const winner = new Map<number, number>();
  outs.forEach((o, w) => o.won.forEach((l) => {
    assert.equal(winner.has(l), false, `shared key ${l} won twice`);
    winner.set(l, w);
  }));
  assert.equal(winner.size, shared);
  for (const [h, l] of sharedKeys(shared)) oracle.set(toBig(h, l), toBig(winner.get(l)!, l));
  const want = [...oracle.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  assert.equal(idx.size, want.length);
  assert.deepEqual(idx.scan(0n, Number.MAX_SAFE_INTEGER), want);
  const st = idx.stats();
  assert.ok(st.binRetrains > 0 && st.modelRetrains > 0, `retraining ran (${JSON.stringify(st)})`);
  idx.close();
}

test('2 workers: random ops on disjoint keys and racing inserts match the oracle', { timeout: 120_000 }, async () => {
  await randomizedRun(2, 11);
});

test('4 workers: random ops on disjoint keys and racing inserts match the oracle', { timeout: 120_000 }, async () => {
  await randomizedRun(4, 12);
});

test('scans stay sorted, duplicate-free and complete while a worker retrains', { timeout: 120_000 }, async () => {
  const idx = freshIndex();
  const bg = await RetrainWorker.start(idx);
  const stop = new SharedArrayBuffer(4);
  const base = { handle: idx.handle(), seed: 5, workers: 2, keySpace: 20_000, shared: 2000 };
  const scanning = runWorker<{ scans: number; errors: string[] }>({
    ...base, role: 'scan', worker: 0, ops: 0, stable: STABLE, stop,
  });
  const writers = [0, 1].map((w) => runWorker<{ results: number[] }>({ ...base, role: 'ops', worker: w, ops: 20_000 }));
  await Promise.all(writers);
  Atomics.store(new Int32Array(stop), 0, 1);
  const scans = await scanning;
  await bg.stop();
  assert.deepEqual(scans.errors, []);
  assert.ok(scans.scans >= 3);
  assert.ok(bg.retrains > 0, 'the background worker retrained models');
  const all = idx.scan(0n, Number.MAX_SAFE_INTEGER);
  assert.equal(all.length, idx.size);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1][0] < all[i][0]);
  idx.close();
});

test('racing writers in every gap: inline pairs turn into level bins without losing a key', { timeout: 120_000 }, async () => {
  const idx = freshIndex();
  const gaps = STABLE - 1;
  const workers = 3;
  const outs = await Promise.all(Array.from({ length: workers }, (_, w) => runWorker<{ won: number[]; errors: string[] }>({
    role: 'gaps', handle: idx.handle(), seed: 0, worker: w, workers, ops: gaps, keySpace: 0, shared: 0,
  })));
  const oracle = new Map<bigint, bigint>();
  for (let i = 0; i < STABLE; i++) oracle.set(toBig(9, i * 1000), BigInt(i));
  const winner = new Map<number, number>();
  outs.forEach((o, w) => {
    assert.deepEqual(o.errors, [], `worker ${w}`);
    for (const g of o.won) {
      assert.equal(winner.has(g), false, `gap ${g} won twice`);
      winner.set(g, w);
    }
  });
  for (let g = 0; g < gaps; g++) {
    assert.ok(winner.has(g), `gap ${g}: nobody won the shared key`);
    oracle.set(toBig(9, g * 1000 + 500), toBig(winner.get(g)!, g));
    if (g % 2 === 0) for (let w = 0; w < workers; w++) oracle.set(toBig(9, g * 1000 + 1 + w), toBig(w, g + 1));
  }
  const want = [...oracle.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  assert.equal(idx.size, want.length);
  assert.deepEqual(idx.scan(0n, Number.MAX_SAFE_INTEGER), want);
  for (const [k, v] of want) assert.equal(idx.get(k), v);
  idx.close();
});
