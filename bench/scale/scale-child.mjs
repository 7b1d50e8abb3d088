/**
 * One timed operation of `bench:scale` in a process of its own, so its peak RSS is its own: prints
 * {"seconds": s, "cpuSeconds": c, "maxRssBytes": n, ...} on stdout. Plain JavaScript over the compiled package (dist/, built by
 * bench:scale first), run by plain `node`: as users run NeurStore, with no TypeScript loader in the process or
 * its worker threads (under tsx every worker spent ~0.5 s loading it). Operations: put STORE FILE NAME MODE,
 * get STORE NAME OUT, load STORE NAME, verify STORE, zipnn FILE OUT.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { compress } from 'zstd-napi';
import { NeurStore } from '../../dist/store/neur-store.js';

const [op, ...args] = process.argv.slice(2);
const started = performance.now();
const extra = {};

if (op === 'put') {
  const [dir, file, name, mode] = args;
  const store = await NeurStore.init(dir);
  const r = await store.put(file, { name, mode, ...(mode === 'lossless' ? {} : { tolerance: 1e-3 }) });
  extra.storedBytes = r.storedBytes;
  extra.maxError = r.maxError;
  await store.close();
} else if (op === 'get') {
  const [dir, name, out] = args;
  const store = await NeurStore.open(dir, { readOnly: true });
  await store.get(name, out);
  await store.close();
} else if (op === 'load') {
  // The model's tensors as they were put (load mode `exact`), streamed tensor by tensor; bytes counted.
  const [dir, name] = args;
  const store = await NeurStore.open(dir, { readOnly: true });
  let bytes = 0;
  for await (const t of store.load(name, { mode: 'exact' })) bytes += t.form === 'bytes' ? t.bytes.byteLength : 0;
  extra.bytes = bytes;
  await store.close();
} else if (op === 'verify') {
  const store = await NeurStore.open(args[0], { readOnly: true });
  extra.ok = (await store.verify()).ok;
  await store.close();
} else if (op === 'zipnn') {
  // The ZipNN method, single thread: bf16 split into its two byte planes per 8 MiB chunk, each zstd -3.
  const [file, out] = args;
  const w = createWriteStream(out);
  for await (const b of createReadStream(file, { highWaterMark: 8 << 20 })) {
    const n = b.length >> 1;
    const lo = Buffer.allocUnsafe(n);
    const hi = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      lo[i] = b[2 * i];
      hi[i] = b[2 * i + 1];
    }
    for (const plane of [lo, hi]) {
      const z = compress(plane, { compressionLevel: 3 });
      const len = Buffer.alloc(4);
      len.writeUInt32LE(z.length);
      if (!w.write(len) || !w.write(z)) await new Promise((r) => w.once('drain', () => r()));
    }
  }
  await new Promise((r) => w.end(r));
} else {
  throw new Error(`unknown operation ${op}`);
}
// CPU seconds of every thread of the process (user + system): with `seconds`, how many cores the operation kept busy.
const usage = process.resourceUsage();
const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, cpuSeconds, maxRssBytes: usage.maxRSS * 1024, ...extra }));
