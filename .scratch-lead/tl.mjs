import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const zstd = createRequire(import.meta.url)('zstd-napi/binding');
const B = readFileSync('/work/main/.cache/scale/llm-1024m.safetensors');
const C = 8 << 20, N = 30, off = 1 << 20;
const planes = [];
for (let i = 0; i < N; i++) { const c = B.subarray(off + i * C, off + (i + 1) * C); const p = new Uint8Array(C / 2); for (let j = 0; j < p.length; j++) p[j] = c[2 * j + 1]; planes.push(p); }
const dst = new Uint8Array(zstd.compressBound(C / 2));
for (const tl of [0, 8, 32, 128, 1024, 16384]) {
  const c = new zstd.CCtx(); const P = zstd.CParameter;
  c.setParameter(P.compressionLevel, 1); c.setParameter(P.strategy, zstd.Strategy.fast); c.setParameter(P.minMatch, 7); c.setParameter(P.hashLog, 10);
  if (tl) { c.setParameter(P.targetLength, tl); c.setParameter(1002, 1); }
  let bytes = 0; for (const p of planes) bytes += c.compress2(dst, p);
  const t0 = performance.now(); for (let r = 0; r < 3; r++) for (const p of planes) c.compress2(dst, p); const ms = (performance.now() - t0) / 3;
  console.log('targetLength', tl, 'size', (100 * bytes / (N * C / 2)).toFixed(3) + '%', 'MB/s', ((N * C / 2) / 1e3 / ms).toFixed(0));
}
