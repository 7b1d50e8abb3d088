import { readFileSync } from 'node:fs';
import { encodeLossless, encodeLosslessOnChain } from '../src/codecs/lossless.js';
const B = readFileSync('/work/main/.cache/scale/llm-1024m.safetensors');
const T = readFileSync('/work/main/.cache/scale/llm-1024m-ft.safetensors');
const C = 8 << 20, N = 40, off = 1 << 20;
const chunks: Array<[Uint8Array, Uint8Array, Uint8Array]> = [];
for (let i = 0; i < N; i++) {
  const b = new Uint8Array(B.subarray(off + i * C, off + (i + 1) * C));
  const t = new Uint8Array(T.subarray(off + i * C, off + (i + 1) * C));
  chunks.push([b, t, encodeLossless(b, 2, null)]);
}
const into = new ArrayBuffer(C + 65536);
const t0 = performance.now();
for (let rep = 0; rep < 8; rep++) for (const [, t, root] of chunks) encodeLosslessOnChain(t, 2, [root], { into });
console.log(((8 * N * C) / 1e6 / (performance.now() - t0)) * 1000, 'MB/s');
