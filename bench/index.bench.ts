/**
 * FINEdex benchmark: throughput (Mops/s) and bytes per key of FineIndex against sorted-btree,
 * functional-red-black-tree, @js-sdsl/ordered-map, a read-only sorted array (binary search) and Map (point
 * ops only), single-threaded, plus FineIndex from 1 and 2 worker threads on one shared index.
 *
 *   npx tsx bench/index.bench.ts [--keys N] [--ops N] [--datasets uniform,normal,lognormal,sequential,real]
 *                                [--only single|workers]
 *
 * The worker runs give every worker the same fixed work (`--ops` operations each, after a warm-up) and
 * report all workers' operations over the slowest worker's time, so scaling = 2-worker / 1-worker Mops/s.
 *
 * Datasets: uniform / normal / lognormal reals x 1e12 (as integers), sequential ids, and real keys: the first
 * 8 bytes of the sha256 of every tensor of the fixtures (human-models TF.js shards sliced by their manifests,
 * face-api, the MNIST safetensors); the real set is as large as the fixtures give (a few thousand keys).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import BTreeModule from 'sorted-btree';
// @ts-expect-error the package ships no types
import createRBTree from 'functional-red-black-tree';
import { OrderedMap } from '@js-sdsl/ordered-map';
import { FineIndex, type FineIndexHandle, PairRun, SeededRandom } from '../src/learned-index/index.js';
import { ensureFixtures, FIXTURES_DIR, SHARED_MNIST_DIR } from '../scripts/fetch-fixtures.js';

type Key = number | bigint;
type BTree<K, V> = InstanceType<typeof BTreeModule.default<K, V>>;
const BTree = BTreeModule.default;
const TWO32 = 2 ** 32;
const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};

/**
 * Sorted unique keys as numbers (all < 2^53) or bigints, plus their (hi, lo) halves interleaved in one
 * array (key i at hl[2i], hl[2i+1]: one cache line per probe, as `keys[i]` is for the other structures).
 */
interface Dataset { name: string; keys: Key[]; hl: Uint32Array }

function makeDataset(name: string, raw: Key[]): Dataset {
  const keys = [...new Set(raw)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const hl = new Uint32Array(2 * keys.length);
  keys.forEach((k, i) => {
    hl[2 * i] = typeof k === 'bigint' ? Number(k >> 32n) : Math.floor(k / TWO32);
    hl[2 * i + 1] = typeof k === 'bigint' ? Number(k & 0xffffffffn) : k >>> 0;
  });
  return { name, keys, hl };
}

function synthetic(name: string, n: number): Dataset {
  const r = new SeededRandom(7);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next());
  const gen: Record<string, () => number> = {
    uniform: () => r.next(),
    normal: () => Math.abs(gauss() + 10),
    lognormal: () => Math.exp(gauss()),
  };
  const raw: number[] = [];
  for (let i = 0; i < n; i++) raw.push(name === 'sequential' ? i + 1 : Math.floor(gen[name]() * 1e12));
  return makeDataset(name, raw);
}

/** First 8 bytes of sha256 of every tensor in the fixtures. */
function realKeys(): Dataset {
  ensureFixtures();
  const keys: bigint[] = [];
  const hash = (b: Uint8Array): void => void keys.push(createHash('sha256').update(b).digest().readBigUInt64BE(0));
  const bytesOf: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2, bool: 1, int8: 1 };
  const manifests: Array<[string, Array<{ paths: string[]; weights: any[] }>]> = [];
  for (const f of readdirSync(join(FIXTURES_DIR, 'human-models')).filter((x) => x.endsWith('.json'))) {
    const j = JSON.parse(readFileSync(join(FIXTURES_DIR, 'human-models', f), 'utf8'));
    if (j.weightsManifest) manifests.push([join(FIXTURES_DIR, 'human-models'), j.weightsManifest]);
  }
  for (const f of readdirSync(join(FIXTURES_DIR, 'face-api')).filter((x) => x.endsWith('manifest.json'))) {
    manifests.push([join(FIXTURES_DIR, 'face-api'), JSON.parse(readFileSync(join(FIXTURES_DIR, 'face-api', f), 'utf8'))]);
  }
  for (const [dir, groups] of manifests) {
    for (const g of groups) {
      const buf = Buffer.concat(g.paths.map((p) => readFileSync(join(dir, p))));
      let off = 0;
      for (const w of g.weights) {
        const len = (w.shape as number[]).reduce((a, b) => a * b, 1) * bytesOf[w.quantization?.dtype ?? w.dtype];
        hash(buf.subarray(off, off + len));
        off += len;
      }
    }
  }
  for (const f of readdirSync(SHARED_MNIST_DIR).filter((x) => x.endsWith('.safetensors'))) {
    const b = readFileSync(join(SHARED_MNIST_DIR, f));
    const hl = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + hl).toString('utf8'));
    for (const [name, t] of Object.entries<any>(header)) {
      if (name !== '__metadata__') hash(b.subarray(8 + hl + t.data_offsets[0], 8 + hl + t.data_offsets[1]));
    }
  }
  return makeDataset('real', keys);
}

/** One structure under test: point and range operations by key index into the dataset. */
interface Sut {
  name: string;
  build(d: Dataset, idx: ArrayLike<number>): void;
  get(d: Dataset, i: number): unknown;
  /** Looks up the keys at indexes `idx` (default: one `get` each); returns how many were found. */
  getBatch?(d: Dataset, idx: Uint32Array): number;
  set(d: Dataset, i: number, v: number): void;
  scan(d: Dataset, i: number, count: number): number;
  bytes?(): number;
  readOnly?: boolean;
  pointOnly?: boolean;
}

const cmp = (a: Key, b: Key): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * FineIndex on `path` ('wasm': lookups and write descents in wasm; 'ts': all TS). The TS row is read-only
 * (to keep the run short): it shows what the wasm path buys on lookups.
 */
function fineSut(name: string, path: 'wasm' | 'ts'): Sut {
  let fi: FineIndex;
  return {
    name,
    readOnly: path === 'ts',
    build: (d, idx) => {
      fi?.close();
      fi = FineIndex.create({ path });
      const run = new PairRun(idx.length);
      for (let j = 0; j < idx.length; j++) run.push(d.hl[2 * idx[j]], d.hl[2 * idx[j] + 1], 0, idx[j]);
      fi.bulkLoadRun(run);
    },
    get: (d, i) => (fi.getHL(d.hl[2 * i], d.hl[2 * i + 1]) ? fi.valueLo : undefined),
    getBatch: (d, idx) => {
      for (let j = 0; j < idx.length; j++) {
        batchKeys[2 * j] = d.hl[2 * idx[j]];
        batchKeys[2 * j + 1] = d.hl[2 * idx[j] + 1];
      }
      return fi.getManyHL(batchKeys, batchValues, batchFound);
    },
    set: (d, i, v) => void fi.setHL(d.hl[2 * i], d.hl[2 * i + 1], 0, v),
    scan: (d, i, c) => {
      scratch.length = 0;
      return fi.scanHL(d.hl[2 * i], d.hl[2 * i + 1], c, scratch);
    },
    bytes: () => fi.stats().arenaBytes,
  };
}

function suts(): Sut[] {
  let bt: BTree<Key, number>;
  let rb: any;
  let om: OrderedMap<Key, number>;
  let map: Map<Key, number>;
  let arr: Key[] = [];
  return [
    fineSut('FINEdex', 'wasm'),
    fineSut('FINEdex, TS path', 'ts'),
    {
      name: 'sorted-btree',
      build: (d, idx) => void (bt = new BTree<Key, number>(Array.from(idx, (i) => [d.keys[i], i]), cmp)),
      get: (d, i) => bt.get(d.keys[i]),
      set: (d, i, v) => void bt.set(d.keys[i], v),
      scan: (d, i, c) => bt.forRange(d.keys[i], d.keys[d.keys.length - 1], true, (_k: Key, _v: number, n: number) => (n + 1 >= c ? { break: n } : undefined)),
    },
    {
      name: 'functional-rbtree',
      build: (d, idx) => {
        rb = createRBTree(cmp);
        for (let j = 0; j < idx.length; j++) rb = rb.insert(d.keys[idx[j]], idx[j]);
      },
      get: (d, i) => rb.get(d.keys[i]),
      set: (d, i, v) => {
        const it = rb.find(d.keys[i]);
        rb = it.valid ? it.update(v) : rb.insert(d.keys[i], v);
      },
      scan: (d, i, c) => {
        let n = 0;
        for (const it = rb.ge(d.keys[i]); it.valid && n < c; it.next()) n++;
        return n;
      },
    },
    {
      name: 'js-sdsl OrderedMap',
      build: (d, idx) => void (om = new OrderedMap<Key, number>(Array.from(idx, (i) => [d.keys[i], i] as [Key, number]), cmp)),
      get: (d, i) => om.getElementByKey(d.keys[i]),
      set: (d, i, v) => void om.setElement(d.keys[i], v),
      scan: (d, i, c) => {
        let n = 0;
        const end = om.end();
        for (const it = om.lowerBound(d.keys[i]); !it.equals(end) && n < c; it.next()) n++;
        return n;
      },
    },
    {
      name: 'sorted array',
      readOnly: true,
      build: (d, idx) => void (arr = Array.from(idx, (i) => d.keys[i])),
      get: (d, i) => lowerBound(arr, d.keys[i]),
      set: () => {},
      scan: (d, i, c) => Math.min(c, arr.length - lowerBound(arr, d.keys[i])),
    },
    {
      name: 'Map',
      pointOnly: true,
      build: (d, idx) => void (map = new Map(Array.from(idx, (i) => [d.keys[i], i]))),
      get: (d, i) => map.get(d.keys[i]),
      set: (d, i, v) => void map.set(d.keys[i], v),
      scan: () => 0,
    },
  ];
}
const scratch = new PairRun(1024);
/** Keys per batch of the `get x256` column. */
const BATCH = 256;
const batchKeys = new Uint32Array(2 * BATCH);
const batchValues = new Uint32Array(2 * BATCH);
const batchFound = new Uint8Array(BATCH);

function getEach(s: Sut, d: Dataset, idx: Uint32Array): number {
  let hits = 0;
  for (let j = 0; j < idx.length; j++) if (s.get(d, idx[j]) !== undefined) hits++;
  return hits;
}

function lowerBound(a: Key[], k: Key): number {
  let l = 0;
  let r = a.length;
  while (l < r) {
    const m = (l + r) >>> 1;
    if (a[m] < k) l = m + 1;
    else r = m;
  }
  return l;
}

/** A YCSB-like mix: fractions of read, update, insert, scan, read-modify-write; `latest` reads recent keys. */
interface Mix { name: string; read: number; update: number; insert: number; scan: number; rmw: number; latest?: boolean }
const MIXES: Mix[] = [
  { name: 'A', read: 0.5, update: 0.5, insert: 0, scan: 0, rmw: 0 },
  { name: 'B', read: 0.95, update: 0.05, insert: 0, scan: 0, rmw: 0 },
  { name: 'C', read: 1, update: 0, insert: 0, scan: 0, rmw: 0 },
  { name: 'D', read: 0.95, update: 0, insert: 0.05, scan: 0, rmw: 0, latest: true },
  { name: 'E', read: 0, update: 0, insert: 0.05, scan: 0.95, rmw: 0 },
  { name: 'F', read: 0.5, update: 0, insert: 0, scan: 0, rmw: 0.5 },
];

/** Runs `ops` operations of `mix` on `s`, loaded with the even-indexed keys; inserts take odd-indexed keys. */
function runMix(s: Sut, d: Dataset, mix: Mix, ops: number, seed: number, first = 0): number {
  const r = new SeededRandom(seed);
  const half = d.keys.length >>> 1;
  let next = first;
  const t = performance.now();
  for (let k = 0; k < ops; k++) {
    const x = r.next();
    const pick = mix.latest && next > 0 ? 2 * Math.max(0, next - 1 - r.int(Math.min(next, 1000))) + 1 : 2 * r.int(half);
    if (x < mix.read) s.get(d, pick);
    else if (x < mix.read + mix.update) s.set(d, pick, k);
    else if (x < mix.read + mix.update + mix.insert) s.set(d, 2 * (next++ % half) + 1, k);
    else if (x < mix.read + mix.update + mix.insert + mix.scan) s.scan(d, pick, 1 + r.int(100));
    else s.set(d, pick, (s.get(d, pick) as number) | 1);
  }
  return ops / (performance.now() - t) / 1000;
}

function gcHeap(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

const even = (n: number): Uint32Array => Uint32Array.from({ length: n >>> 1 }, (_, i) => 2 * i);
const all = (n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => i);

/** One row of results for structure `s` on dataset `d`. */
function benchSut(s: Sut, d: Dataset, ops: number): Record<string, string> {
  const n = d.keys.length;
  const f = (x: number): string => x.toFixed(2);
  const row: Record<string, string> = { structure: s.name };
  const h0 = gcHeap();
  let t = performance.now();
  s.build(d, all(n));
  row['bulk Mops/s'] = f(n / (performance.now() - t) / 1000);
  row['B/key'] = ((s.bytes ? s.bytes() : gcHeap() - h0) / n).toFixed(1);
  const r = new SeededRandom(3);
  t = performance.now();
  for (let k = 0; k < ops; k++) s.get(d, r.int(n));
  row['get'] = f(ops / (performance.now() - t) / 1000);
  const idx = new Uint32Array(BATCH);
  t = performance.now();
  for (let k = 0; k < ops; k += BATCH) {
    for (let j = 0; j < BATCH; j++) idx[j] = r.int(n);
    if (s.getBatch) s.getBatch(d, idx);
    else getEach(s, d, idx);
  }
  row[`get x${BATCH}`] = f(ops / (performance.now() - t) / 1000);
  if (!s.pointOnly) {
    t = performance.now();
    for (let k = 0; k < ops / 20; k++) s.scan(d, r.int(n), 100);
    row['scan100 (Mkeys/s)'] = f((ops / 20) * 100 / (performance.now() - t) / 1000);
  }
  if (s.readOnly) return row;
  s.build(d, even(n));
  const half = n >>> 1;
  t = performance.now();
  for (let k = 0; k < half; k++) s.set(d, 2 * ((k * 7919) % half) + 1, k); // odd keys in scattered order
  row['insert'] = f(half / (performance.now() - t) / 1000);
  row['B/key after insert'] = ((s.bytes ? s.bytes() : gcHeap() - h0) / n).toFixed(1);
  for (const m of MIXES) {
    if (s.pointOnly && m.scan > 0) continue;
    s.build(d, even(n));
    row[m.name] = f(runMix(s, d, m, Math.min(ops, half * 4), 10 + m.name.charCodeAt(0)));
  }
  return row;
}

/**
 * FineIndex from `w` workers at once on one shared index, mix `mix`: every worker warms up, waits at a
 * barrier, then runs the same fixed number of operations (`ops` each, on its own seed) and times itself.
 * Returns the aggregate Mops/s (all workers' operations over the slowest worker's time), best of `reps`
 * runs, so 1 and 2 workers are compared on equal work per thread.
 */
async function benchWorkers(d: Dataset, w: number, mix: Mix, ops: number, reps = 3): Promise<number> {
  let best = 0;
  for (let rep = 0; rep < reps; rep++) {
    const fi = FineIndex.create();
    const run = new PairRun(d.keys.length);
    for (let i = 0; i < d.keys.length; i += 2) run.push(d.hl[2 * i], d.hl[2 * i + 1], 0, i);
    fi.bulkLoadRun(run);
    const api = import.meta.resolve('tsx/esm/api');
    const me = import.meta.url;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(me)}); })`;
    const go = new SharedArrayBuffer(8);
    const workers = Array.from({ length: w }, (_, k) => new Worker(boot, {
      eval: true,
      workerData: { handle: fi.handle(), hl: d.hl, mix, ops, seed: 100 + 17 * rep + k, first: k * 100_000, go },
    }));
    await Promise.all(workers.map((x) => new Promise((res) => x.once('message', res))));
    const gate = new Int32Array(go);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    const ms = await Promise.all(workers.map((x) => new Promise<number>((res) => x.once('message', res))));
    best = Math.max(best, (ops * w) / Math.max(...ms) / 1000);
    await Promise.all(workers.map((x) => x.terminate()));
    fi.close();
  }
  return best;
}

function workerMain(): void {
  const wd = workerData as { handle: FineIndexHandle; hl: Uint32Array; mix: Mix; ops: number; seed: number; first: number; go: SharedArrayBuffer };
  const fi = FineIndex.attach(wd.handle);
  const d: Dataset = { name: 'w', keys: new Array(wd.hl.length >>> 1), hl: wd.hl };
  const out = new PairRun(128);
  const s: Sut = {
    name: 'FINEdex',
    build: () => {},
    get: (dd, i) => fi.getHL(dd.hl[2 * i], dd.hl[2 * i + 1]),
    set: (dd, i, v) => void fi.setHL(dd.hl[2 * i], dd.hl[2 * i + 1], 0, v),
    scan: (dd, i, c) => ((out.length = 0), fi.scanHL(dd.hl[2 * i], dd.hl[2 * i + 1], c, out)),
  };
  // Warm-up (JIT and caches) on reads only, so the index is the same for every run.
  runMix(s, d, MIXES[2], Math.min(wd.ops, 200_000), wd.seed + 1000, 0);
  parentPort!.postMessage('ready');
  Atomics.wait(new Int32Array(wd.go), 0, 0);
  const t = performance.now();
  runMix(s, d, wd.mix, wd.ops, wd.seed, wd.first);
  parentPort!.postMessage(performance.now() - t);
}

async function main(): Promise<void> {
  const n = Number(arg('--keys', '1000000'));
  const ops = Number(arg('--ops', String(Math.min(n, 500_000))));
  const names = arg('--datasets', 'uniform,normal,lognormal,sequential,real').split(',');
  const part = arg('--only', 'all'); // all | single | workers
  const probe = FineIndex.create({ initialBytes: 65536 });
  const path = probe.stats().path;
  probe.close();
  console.log(`FINEdex benchmark: ${n} keys, ${ops} ops per workload (Mops/s unless noted), node ${process.version}, FINEdex path: ${path}`);
  for (const name of names) {
    const d = name === 'real' ? realKeys() : synthetic(name, n);
    console.log(`\n## ${name}: ${d.keys.length} keys`);
    if (part !== 'workers') console.table(suts().map((s) => benchSut(s, d, ops)));
    if (part === 'single') continue;
    const rows = [];
    for (const m of [MIXES[2], MIXES[1], MIXES[0]]) {
      const one = await benchWorkers(d, 1, m, ops);
      const two = await benchWorkers(d, 2, m, ops);
      rows.push({ mix: `YCSB-${m.name}`, '1 worker': one.toFixed(2), '2 workers': two.toFixed(2), scaling: (two / one).toFixed(2) });
    }
    console.log(`FINEdex on shared memory, worker threads (${ops} ops per worker, aggregate Mops/s, best of 3):`);
    console.table(rows);
  }
}

if (isMainThread) void main();
else workerMain();
