import { openSync, readSync } from 'node:fs';
const f = (p) => { const fd = openSync(p, 'r'); const h = Buffer.alloc(8); readSync(fd, h, 0, 8, 0); const n = Number(h.readBigUInt64LE()); return { fd, start: 8 + n }; };
const a = f('.cache/scale/llm-1024m.safetensors'), b = f('.cache/scale/llm-1024m-ft.safetensors');
const N = 8 << 20; const x = Buffer.alloc(N), y = Buffer.alloc(N);
readSync(a.fd, x, 0, N, a.start + 100 * N); readSync(b.fd, y, 0, N, b.start + 100 * N);
const bf = (buf, i) => { const u = new Uint32Array(1); u[0] = buf.readUInt16LE(2 * i) << 16; return new Float32Array(u.buffer)[0]; };
const step = 2e-3 * (1 - 2 ** -10); const hist = new Map(); const G = 1024;
let packable4 = 0, packable16 = 0, groups = 0;
for (let g = 0; g < N / 2; g += G) {
  let mx = 0; groups++;
  const qs = [];
  for (let i = g; i < g + G; i++) qs.push(Math.round((bf(y, i) - bf(x, i)) / step));
  const sorted = [...qs].sort((p, q) => p - q); const c = sorted[G >> 1];
  for (const q of qs) { const z = q - c >= 0 ? 2 * (q - c) : -2 * (q - c) - 1; hist.set(z, (hist.get(z) ?? 0) + 1); mx = Math.max(mx, z); }
  if (mx < 4) packable4++; if (mx < 16) packable16++;
}
let H = 0; const tot = N / 2; for (const v of hist.values()) H -= (v / tot) * Math.log2(v / tot);
console.log([...hist].sort((p, q) => p[0] - q[0]).slice(0, 10), 'entropy bits', H.toFixed(3), 'groups', groups, 'max<4', packable4, 'max<16', packable16);
const { ransEncode, ransDecode } = await import('../dist/codecs/rans-coder.js');
const { zstdCompress, ZSTD_PLANE } = await import('../dist/codecs/entropy-coder.js');
// rebuild the codes stream
const codes = new Uint8Array(N / 2);
for (let g = 0, k = 0; g < N / 2; g += G) {
  const qs = []; for (let i = g; i < g + G; i++) qs.push(Math.round((bf(y, i) - bf(x, i)) / step));
  const c = [...qs].sort((p, q) => p - q)[G >> 1];
  for (const q of qs) codes[k++] = Math.min(255, q - c >= 0 ? 2 * (q - c) : -2 * (q - c) - 1);
}
const packed = new Uint8Array(codes.length / 2); for (let i = 0; i < packed.length; i++) packed[i] = codes[2 * i] | (codes[2 * i + 1] << 4);
const quad = new Uint8Array(codes.length / 4);
const t = (f) => { const t0 = performance.now(); let r; for (let i = 0; i < 5; i++) r = f(); return [r.length, ((performance.now() - t0) / 5).toFixed(1) + ' ms']; };
console.log('rans codes', t(() => ransEncode(codes)), 'rans pairs', t(() => ransEncode(packed)), 'zstd pairs', t(() => zstdCompress(packed, ZSTD_PLANE)), 'zstd codes', t(() => zstdCompress(codes, ZSTD_PLANE)));
const e1 = ransEncode(codes), e2 = ransEncode(packed);
console.log('decode codes', t(() => ransDecode(e1)), 'decode pairs', t(() => ransDecode(e2)));
