import { readFileSync } from 'node:fs';
import { encodeLossless, decodeLossless, encodeLosslessOnChain, decodeLosslessChain } from '../src/codecs/lossless.js';
const B = readFileSync('/work/main/.cache/scale/llm-1024m.safetensors');
const T = readFileSync('/work/main/.cache/scale/llm-1024m-ft.safetensors');
const C = 8 << 20, N = 40, off = 1 << 20;
const chunks: Array<[Uint8Array, Uint8Array, Uint8Array]> = [];
for (let i = 0; i < N; i++) {
  const b = new Uint8Array(B.subarray(off + i * C, off + (i + 1) * C));
  const t = new Uint8Array(T.subarray(off + i * C, off + (i + 1) * C));
  chunks.push([b, t, encodeLossless(b, 2, null)]);
}
const out = new Uint8Array(C);
const scratch = new Uint8Array(C);
for (let rep = 0; rep < 3; rep++) {
  let t0 = performance.now();
  for (const [, t, root] of chunks) encodeLossless(t, 2, decodeLosslessChain([root], () => scratch));
  const oldEnc = performance.now() - t0;
  t0 = performance.now();
  const bodies = chunks.map(([, t, root]) => new Uint8Array(encodeLosslessOnChain(t, 2, [root])));
  const newEnc = performance.now() - t0;
  t0 = performance.now();
  chunks.forEach(([, , root], i) => decodeLossless(bodies[i]!, decodeLosslessChain([root], () => scratch), () => out));
  const oldDec = performance.now() - t0;
  t0 = performance.now();
  chunks.forEach(([, , root], i) => decodeLosslessChain([root, bodies[i]!], () => out));
  const newDec = performance.now() - t0;
  const mb = (N * C) / 1e6;
  console.log(`encode on chain: bytes ${(mb / oldEnc * 1000).toFixed(0)} MB/s, planes ${(mb / newEnc * 1000).toFixed(0)} MB/s; decode chain: bytes ${(mb / oldDec * 1000).toFixed(0)}, planes ${(mb / newDec * 1000).toFixed(0)} MB/s`);
}
