/**
 * Kernels of the lossless codec's sparse coder (src/codecs/sparse-coder.ts), in their own wasm module
 * (assembly/codec-kernels.ts, built by scripts/build-kernels.mjs into generated/codec-kernels-wasm.ts) with a
 * plain-TS fallback giving identical results. `codecKernels()` is the wasm version when it is built and
 * loads, else the TS one; `TS_CODEC_KERNELS` and `wasmCodecKernels()` let tests compare the two.
 */

import { TS_CODEC_KERNELS, type CodecKernels } from './codec-kernels-ts.js';
import { createWasmCodecKernels } from './codec-kernels-wasm.js';

export { TS_CODEC_KERNELS, tsPlaneArena, type CodecKernels, type PlaneArena } from './codec-kernels-ts.js';

// A variable specifier keeps tsc from requiring the generated file, which a fresh checkout lacks.
const GENERATED_MODULE = './generated/codec-kernels-wasm.js';

let wasm: CodecKernels | null = null;
try {
  const mod = (await import(GENERATED_MODULE)) as { CODEC_KERNELS_WASM_BASE64: string };
  wasm = createWasmCodecKernels(Buffer.from(mod.CODEC_KERNELS_WASM_BASE64, 'base64'));
} catch {
  wasm = null; // not built or not loadable: the TS kernels give the same results
}

/** The active codec kernels (wasm when available). */
export function codecKernels(): CodecKernels {
  return wasm ?? TS_CODEC_KERNELS;
}

/** The wasm codec kernels, or null when they are not built or failed to load. */
export function wasmCodecKernels(): CodecKernels | null {
  return wasm;
}
