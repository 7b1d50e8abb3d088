/**
 * One timed operation of `bench:scale` in a process of its own, so its peak RSS is its own: prints
 * {"seconds": s, "maxRssBytes": n, ...} on stdout. Operations: put STORE FILE NAME MODE, get STORE NAME OUT,
 * verify STORE, zstd FILE OUT LEVEL, unzstd FILE OUT, zipnn FILE OUT.
 */
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { compress, decompress } from 'zstd-napi';
import { NeurStore } from '../../src/store/neur-store.js';
import type { Mode } from '../../src/store/store-types.js';

const [op, ...args] = process.argv.slice(2);
const started = performance.now();
const extra: Record<string, unknown> = {};

async function run(): Promise<void> {
  if (op === 'put') {
    const [dir, file, name, mode] = args as [string, string, string, Mode];
    const store = await NeurStore.init(dir);
    const r = await store.put(file, { name, mode, ...(mode === 'lossless' ? {} : { tolerance: 1e-3 }) });
    extra.storedBytes = r.storedBytes;
    extra.maxError = r.maxError;
    await store.close();
  } else if (op === 'get') {
    const [dir, name, out] = args as [string, string, string];
    const store = await NeurStore.open(dir, { readOnly: true });
    await store.get(name, out);
    await store.close();
  } else if (op === 'verify') {
    const store = await NeurStore.open(args[0]!, { readOnly: true });
    extra.ok = (await store.verify()).ok;
    await store.close();
  } else if (op === 'zipnn') {
    // The ZipNN method, single thread: bf16 split into its two byte planes per 8 MiB chunk, each zstd -3.
    const [file, out] = args as [string, string];
    const w = createWriteStream(out);
    for await (const chunk of createReadStream(file, { highWaterMark: 8 << 20 })) {
      const b = chunk as Buffer;
      const n = b.length >> 1;
      const lo = Buffer.allocUnsafe(n);
      const hi = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) {
        lo[i] = b[2 * i]!;
        hi[i] = b[2 * i + 1]!;
      }
      for (const plane of [lo, hi]) {
        const z = compress(plane, { compressionLevel: 3 });
        const len = Buffer.alloc(4);
        len.writeUInt32LE(z.length);
        if (!w.write(len) || !w.write(z)) await new Promise<void>((r) => w.once('drain', () => r()));
      }
    }
    await new Promise<void>((r) => w.end(r));
  } else if (op === 'unzstd-napi') {
    writeFileSync(args[1]!, decompress(readFileSync(args[0]!)));
  }
}

await run();
console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, maxRssBytes: process.resourceUsage().maxRSS * 1024, ...extra }));
