/**
 * Test support (memory.test.ts): in a process of its own, writes a safetensors model of SIZE bytes in TENSORS
 * equal tensors (default 1; seeded AES-CTR stream: incompressible, generated piece by piece), puts it with
 * CHUNK-byte chunks, puts it again (every chunk a dedup hit) and gets it back, and prints the peak RSS over the
 * process's RSS before the put, and whether the bytes came back exact.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NeurStore } from '../neur-store.js';

const [dir, sizeArg, chunkArg, tensorsArg = '1'] = process.argv.slice(2) as [string, string, string, string?];
const size = Number(sizeArg);
const tensors = Number(tensorsArg);
const each = size / tensors;
const file = join(dir, 'big.safetensors');
const entries = Object.fromEntries(Array.from({ length: tensors }, (_, i) => [`w${i}`, { dtype: 'U8', shape: [each], data_offsets: [i * each, (i + 1) * each] }]));
const header = Buffer.from(JSON.stringify(entries).padEnd(64, ' '));
const fd = openSync(file, 'w');
const prefix = Buffer.alloc(8);
prefix.writeBigUInt64LE(BigInt(header.length));
writeSync(fd, prefix);
writeSync(fd, header);
const stream = createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 1));
const want = createHash('sha256');
for (let done = 0; done < size; done += 1 << 22) {
  const piece = stream.update(Buffer.alloc(Math.min(1 << 22, size - done)));
  want.update(piece);
  writeSync(fd, piece);
}
closeSync(fd);

const store = await NeurStore.init(join(dir, 'store'), { chunkBytes: Number(chunkArg), encodeWorkers: 0, decodeWorkers: 0 });
const before = process.memoryUsage().rss;
await store.put(file, { name: 'big' });
// Again under another name: every chunk is found stored (each record read whole to check its CRC).
const again = await store.put(file, { name: 'again' });
if (again.storedBytes !== 0) throw new Error(`the second put stored ${again.storedBytes} bytes`);
const out = join(dir, 'out.safetensors');
await store.get('big', out);
await store.close();
const peak = process.resourceUsage().maxRSS * 1024;
const got = createHash('sha256');
const rfd = openSync(out, 'r');
const buf = Buffer.alloc(1 << 22);
readSync(rfd, buf, 0, 8, 0);
let at = 8 + header.length;
for (let n; (n = readSync(rfd, buf, 0, buf.length, at)) > 0; at += n) got.update(buf.subarray(0, n));
closeSync(rfd);
console.log(JSON.stringify({ before, peak, exact: got.digest('hex') === want.digest('hex') }));
