/**
 * FINEdex in a few lines: build from sorted pairs, point operations, range scans, the allocation-free
 * (hi, lo) API, and background retraining on a worker thread sharing the same memory.
 *
 *   npx tsx examples/finedex-example.ts
 */
import { FineIndex, PairRun, RetrainWorker } from '../src/learned-index/index.js';

const index = FineIndex.create({ epsilon: 32 });

// Bulk load: sorted by key, no duplicates (content hash -> record location, say).
const pairs: Array<[bigint, bigint]> = [];
for (let i = 0n; i < 10_000n; i++) pairs.push([i * 1_000_003n, i]);
index.bulkLoad(pairs);

// Point operations: `set` inserts or replaces, `insert` only inserts, `update` only replaces.
index.set(42n, 4200n);
console.log('insert existing ->', index.insert(42n, 1n)); // false: 42 keeps 4200
console.log('get 42 ->', index.get(42n));
console.log('delete 42 ->', index.delete(42n), 'size', index.size);

// Full 64-bit keys are exact.
const big = (1n << 64n) - 1n;
index.set(big, big);
console.log('get 2^64-1 ->', index.get(big) === big);

// Range scans: ascending from a key, up to a count or an end key.
console.log('scan ->', index.scan(2_000_000n, 3));
console.log('range ->', index.range(0n, 3_000_006n));

// Many keys in one call (one epoch announcement; lookups run in wasm unless `path: 'ts'` was asked for).
console.log('getMany ->', index.getMany([0n, 1n, 1_000_003n]), 'path', index.stats().path);

// Hot paths: keys and values as (hi, lo) u32 halves, no bigint allocated.
if (index.getHL(0, 1_000_003)) console.log('getHL ->', index.valueHi, index.valueLo);
const out = new PairRun(16);
index.scanHL(0, 0, 4, out);
console.log('scanHL keys (lo) ->', Array.from(out.klo.subarray(0, out.length)));

// Background retraining: writers only signal, a worker retrains the models in shared memory.
const bg = await RetrainWorker.start(index);
for (let i = 0; i < 50_000; i++) index.setHL(0, 7 + i * 13, 0, i);
await bg.stop();
console.log('stats ->', index.stats(), 'background retrains', bg.retrains);

// Another thread attaches with the handle: `FineIndex.attach(handle)` after `worker.postMessage(handle)`.
const sameIndex = FineIndex.attach(index.handle());
console.log('attached size ->', sameIndex.size);
sameIndex.close();
index.close();
