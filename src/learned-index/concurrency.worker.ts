/**
 * Test worker for concurrency.test.ts: attaches to a shared FINEdex index and runs one role.
 * - 'ops': a seeded random stream on its own keys interleaved with racing inserts of the shared keys;
 *   posts each op's result and which shared keys it won.
 * - 'scan': repeated full scans while others write and retrain; posts any order violation or missing
 *   stable key it saw.
 * - 'gaps': for every gap g between the stable keys (hi 9, lo g * 1000), inserts its own key, races the
 *   other workers to insert a shared key of the same gap (so gaps turn from one inline pair into level bins
 *   while others write them), reads its own key back, updates it, and deletes it in odd gaps; posts the
 *   shared keys it won and any read that went wrong.
 */
import { parentPort } from 'node:worker_threads';
import { FineIndex, type FineIndexHandle } from './fine-index.js';
import { OP_DELETE, OP_GET, OP_INSERT, randomOps, sharedKeys, shuffled } from './random-ops.js';
import { cmp64, PairRun } from './u64.js';

export interface WorkerTask {
  role: 'ops' | 'scan' | 'gaps';
  handle: FineIndexHandle;
  seed: number;
  worker: number;
  workers: number;
  ops: number;
  keySpace: number;
  shared: number;
  /** For 'scan': stable keys (lo words, hi = 9) that must appear in every scan; stop flag in `stop`. */
  stable?: number;
  stop?: SharedArrayBuffer;
}

function runOps(idx: FineIndex, t: WorkerTask): { results: number[]; won: number[] } {
  const ops = randomOps(t.seed, t.ops, t.worker, t.workers, t.keySpace);
  const shared = sharedKeys(t.shared);
  const order = shuffled(t.shared, t.seed + t.worker);
  const results: number[] = [];
  const won: number[] = [];
  const every = Math.max(1, Math.floor(t.ops / Math.max(1, t.shared)));
  let s = 0;
  for (let i = 0; i < ops.length; i++) {
    const o = ops[i];
    if (o.kind === OP_GET) {
      const hit = idx.getHL(o.khi, o.klo);
      results.push(hit ? 1 : 0, hit ? idx.valueHi : 0, hit ? idx.valueLo : 0);
    } else if (o.kind === OP_DELETE) results.push(idx.deleteHL(o.khi, o.klo) ? 1 : 0, 0, 0);
    else if (o.kind === OP_INSERT) results.push(idx.insertHL(o.khi, o.klo, o.vhi, o.vlo) ? 1 : 0, 0, 0);
    else results.push(idx.setHL(o.khi, o.klo, o.vhi, o.vlo) ? 1 : 0, 0, 0);
    if (i % every === 0 && s < order.length) {
      const [h, l] = shared[order[s++]];
      if (idx.insertHL(h, l, t.worker, l)) won.push(l);
    }
  }
  for (; s < order.length; s++) {
    const [h, l] = shared[order[s]];
    if (idx.insertHL(h, l, t.worker, l)) won.push(l);
  }
  return { results, won };
}

function runScans(idx: FineIndex, t: WorkerTask): { scans: number; errors: string[] } {
  const stop = new Int32Array(t.stop!);
  const errors: string[] = [];
  const out = new PairRun(1024);
  let scans = 0;
  while (Atomics.load(stop, 0) === 0 || scans < 3) {
    out.length = 0;
    idx.scanHL(0, 0, Number.MAX_SAFE_INTEGER, out);
    let stable = 0;
    for (let i = 0; i < out.length; i++) {
      if (i > 0 && cmp64(out.khi[i - 1], out.klo[i - 1], out.khi[i], out.klo[i]) >= 0) {
        errors.push(`scan ${scans}: keys out of order or repeated at ${i}`);
        break;
      }
      if (out.khi[i] === 9) stable++;
    }
    if (stable !== t.stable) errors.push(`scan ${scans}: saw ${stable} of ${t.stable} stable keys`);
    scans++;
    if (errors.length > 5) break;
  }
  return { scans, errors };
}

function runGaps(idx: FineIndex, t: WorkerTask): { won: number[]; errors: string[] } {
  const won: number[] = [];
  const errors: string[] = [];
  for (let g = 0; g < t.ops; g++) {
    const own = g * 1000 + 1 + t.worker;
    if (!idx.insertHL(9, own, t.worker, g)) errors.push(`gap ${g}: own key was present`);
    if (idx.insertHL(9, g * 1000 + 500, t.worker, g)) won.push(g);
    if (!idx.getHL(9, own) || idx.valueHi !== t.worker || idx.valueLo !== g) errors.push(`gap ${g}: own key misread`);
    if (!idx.updateHL(9, own, t.worker, g + 1)) errors.push(`gap ${g}: update missed`);
    if (g % 2 === 1 && !idx.deleteHL(9, own)) errors.push(`gap ${g}: delete missed`);
    if (errors.length > 5) break;
  }
  return { won, errors };
}

const ROLES = { ops: runOps, scan: runScans, gaps: runGaps };

parentPort?.once('message', (t: WorkerTask) => {
  const idx = FineIndex.attach(t.handle);
  const result = ROLES[t.role](idx, t);
  idx.close();
  parentPort?.postMessage(result);
  parentPort?.close();
});
