import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const zstd = createRequire(import.meta.url)('zstd-napi/binding');
const B = readFileSync('/work/main/.cache/scale/llm-1024m.safetensors');
const T = readFileSync('/work/main/.cache/scale/llm-1024m-ft.safetensors');
const C = 8 << 20, N = 30, off = 1 << 20;
const sets = { exp: [], xorLow: [], xorHigh: [] };
for (let i = 0; i < N; i++) {
  const b = B.subarray(off + i * C, off + (i + 1) * C), t = T.subarray(off + i * C, off + (i + 1) * C);
  const e = new Uint8Array(C / 2), xl = new Uint8Array(C / 2), xh = new Uint8Array(C / 2);
  for (let j = 0; j < C / 2; j++) { e[j] = b[2 * j + 1]; xl[j] = b[2 * j] ^ t[2 * j]; xh[j] = b[2 * j + 1] ^ t[2 * j + 1]; }
  sets.exp.push(e); sets.xorLow.push(xl); sets.xorHigh.push(xh);
}
const dst = new Uint8Array(zstd.compressBound(C / 2)); const out = new Uint8Array(C / 2); const d = new zstd.DCtx();
for (const [name, planes] of Object.entries(sets)) for (const tl of [0, 16]) {
  const c = new zstd.CCtx(); const P = zstd.CParameter;
  c.setParameter(P.compressionLevel, 1); c.setParameter(P.strategy, zstd.Strategy.fast); c.setParameter(P.minMatch, 7); c.setParameter(P.hashLog, 10);
  if (tl) { c.setParameter(P.targetLength, tl); c.setParameter(1002, 1); }
  const blobs = planes.map((p) => { const n = c.compress2(dst, p); return dst.slice(0, n); });
  const bytes = blobs.reduce((s, b) => s + b.length, 0);
  let t0 = performance.now(); for (let r = 0; r < 3; r++) for (const p of planes) c.compress2(dst, p); const ems = (performance.now() - t0) / 3;
  t0 = performance.now(); for (let r = 0; r < 3; r++) for (const b of blobs) d.decompress(out, b); const dms = (performance.now() - t0) / 3;
  const mb = N * C / 2 / 1e3;
  console.log(name.padEnd(8), 'tl', String(tl).padEnd(6), 'size', (100 * bytes / (N * C / 2)).toFixed(3) + '%', 'enc', (mb / ems).toFixed(0), 'dec', (mb / dms).toFixed(0), 'MB/s');
}
