/**
 * One job type of bench/worker-jobs.bench.ts in a process of its own, so its peak RSS is its own: plain
 * JavaScript over a tree's compiled package (TREE/dist, `npx tsc -p tsconfig.json`), run by plain `node`, so
 * neither this thread nor the workers carry a TypeScript loader. Prints {"cpuMsPerChunk", "mainMsPerChunk",
 * "startRssMiB", "peakRssMiB", "bad"}. Arguments: TREE TYPE CHUNKS CACHE MODEL FT TOL PREFIX CHUNK_BYTES.
 * TYPE `prepare` instead codes every chunk inline with TREE's codecs into CACHE: the bodies the jobs are checked
 * against (and decode), and the group-delta decodes.
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [tree, type, chunksArg, cache, model, ft, tolArg, prefixArg, chunkArg] = process.argv.slice(2);
const CHUNKS = Number(chunksArg);
const TOL = Number(tolArg);
const PREFIX = Number(prefixArg);
const CHUNK = Number(chunkArg);
const { EncodePool } = await import(join(tree, 'dist/runtime/encode-pool.js'));
const { DecodePool } = await import(join(tree, 'dist/runtime/decode-pool.js'));

/** Byte offsets of the chunks: CHUNKS pieces spread over the tensor data (as the bench's parent picks them). */
function chunkOffsets(file) {
  const fd = openSync(file, 'r');
  const len = Buffer.alloc(8);
  readSync(fd, len, 0, 8, 0);
  closeSync(fd);
  const start = 8 + Number(len.readBigUInt64LE());
  const span = Math.floor((statSync(file).size - start) / CHUNK) - 1;
  return Array.from({ length: CHUNKS }, (_, i) => start + Math.floor((i * span) / CHUNKS) * CHUNK);
}

function readChunk(file, offset) {
  const out = new Uint8Array(CHUNK);
  const fd = openSync(file, 'r');
  readSync(fd, out, 0, CHUNK, offset);
  closeSync(fd);
  return out;
}

const bodyFile = (kind, i) => join(cache, `${kind}-${CHUNKS}-${i}.bin`);
const same = (a, b) => a.length === b.length && Buffer.compare(a, b) === 0;
/** CPU ms the main thread has run (Linux schedstat, ns): left out, so what remains is the workers' (and their helper threads'). */
const mainThreadCpuMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

const offsets = chunkOffsets(model);
if (type === 'prepare') {
  const { codeChunkJob } = await import(join(tree, 'dist/runtime/encode-pool.js'));
  const { decodeBody } = await import(join(tree, 'dist/runtime/body-decoder.js'));
  mkdirSync(cache, { recursive: true });
  offsets.forEach((o, i) => {
    const base = readChunk(model, o);
    const tuned = readChunk(ft, o);
    writeFileSync(bodyFile('lossless', i), codeChunkJob({ bytes: base, width: 2, base: null }).body);
    writeFileSync(bodyFile('lossless-xor', i), codeChunkJob({ bytes: tuned, width: 2, base }).body);
    const g = codeChunkJob({ bytes: tuned, width: 1, base, group: { dtype: 'BF16', tol: TOL, digestPrefix: PREFIX } }).body;
    writeFileSync(bodyFile('group', i), g);
    const half = new Uint16Array(base.buffer, 0, CHUNK / 2);
    writeFileSync(bodyFile('group-decoded', i), decodeBody({ codec: 'group-delta', body: g, base: half, dtype: 'BF16', digestPrefix: PREFIX, digest: false }).bytes);
  });
  process.exit(0);
}
const pool = type.startsWith('enc') ? new EncodePool(2) : new DecodePool({ workers: 2 });
const free = [];
const into = type.endsWith('-into');
let bad = 0;

async function run(i) {
  const o = offsets[i];
  if (type === 'enc-lossless') {
    const r = await pool.encode({ bytes: readChunk(model, o), width: 2, base: null });
    if (!same(r.body, readFileSync(bodyFile('lossless', i)))) bad++;
  } else if (type === 'enc-lossless-xor') {
    const r = await pool.encode({ bytes: readChunk(ft, o), width: 2, base: readChunk(model, o) });
    if (!same(r.body, readFileSync(bodyFile('lossless-xor', i)))) bad++;
  } else if (type === 'enc-group-base') {
    const group = { dtype: 'BF16', tol: TOL, digestPrefix: PREFIX };
    const r = await pool.encode({ bytes: readChunk(ft, o), width: 1, base: readChunk(model, o), group });
    if (!same(r.body, readFileSync(bodyFile('group', i)))) bad++;
  } else {
    const xor = type.startsWith('dec-lossless-xor');
    const group = type.startsWith('dec-group-base');
    const body = new Uint8Array(readFileSync(bodyFile(group ? 'group' : xor ? 'lossless-xor' : 'lossless', i)));
    const baseBytes = xor || group ? readChunk(model, o) : null;
    const base = group ? new Uint16Array(baseBytes.buffer) : baseBytes;
    const job = {
      codec: group ? 'group-delta' : 'lossless', body, base, dtype: group ? 'BF16' : 'U8', digestPrefix: PREFIX, digest: group, owned: true,
      ...(into ? { into: free.pop() ?? new ArrayBuffer(CHUNK) } : {}),
    };
    const r = await pool.decode(job, true);
    const want = group ? readFileSync(bodyFile('group-decoded', i)) : readChunk(xor ? ft : model, o);
    if (!same(r.bytes, want)) bad++;
    if (into && r.bytes.buffer instanceof ArrayBuffer) free.push(r.bytes.buffer);
  }
}

await pool.ready?.();
await Promise.all([run(0), run(1)]); // warm-up: one job per worker (first-use tables, wasm memory grown)
const u0 = process.resourceUsage();
const rss0 = process.memoryUsage().rss;
const main0 = mainThreadCpuMs();
let next = 0;
await Promise.all(Array.from({ length: 4 }, async () => {
  while (next < CHUNKS) await run(next++);
}));
const u1 = process.resourceUsage();
const mainMs = mainThreadCpuMs() - main0;
await pool.close();
const cpu = (u1.userCPUTime + u1.systemCPUTime - u0.userCPUTime - u0.systemCPUTime) / 1000 - mainMs;
process.stdout.write(JSON.stringify({ cpuMsPerChunk: cpu / CHUNKS, mainMsPerChunk: mainMs / CHUNKS, startRssMiB: rss0 / 2 ** 20, peakRssMiB: u1.maxRSS / 1024, bad }));
