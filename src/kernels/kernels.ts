/**
 * Entry point of the kernels layer: `kernels()` is the wasm SIMD implementation when
 * src/kernels/generated/kernels-wasm.ts exists (built by `node scripts/build-kernels.mjs`) and instantiates,
 * else the plain-TS one; both give bit-identical results, so callers never care which runs.
 * `kernelsBackend()` says which one is active and why. The module is loaded once, at import (top-level await).
 */
import type { Kernels } from './kernel-types.js';
import { TS_KERNELS } from './kernels-ts.js';
import { createWasmKernels } from './wasm-kernels.js';

export type { Kernels } from './kernel-types.js';
export { TS_KERNELS } from './kernels-ts.js';

// A variable specifier keeps tsc from requiring the generated file, which a fresh checkout lacks.
const GENERATED_MODULE = './generated/kernels-wasm.js';

/** Outcome of loading: the wasm kernels or null, and a human-readable reason. */
export interface LoadedKernels {
  readonly wasm: Kernels | null;
  readonly reason: string;
}

/**
 * Loads the wasm kernels through `importGenerated` (which resolves to the generated module); never throws:
 * a missing or broken module gives `wasm: null` and says why. Exported so tests can simulate a missing build.
 */
export async function loadKernels(importGenerated: () => Promise<unknown>): Promise<LoadedKernels> {
  let b64: string;
  try {
    const mod = (await importGenerated()) as { KERNELS_WASM_BASE64: string };
    b64 = mod.KERNELS_WASM_BASE64;
  } catch {
    return { wasm: null, reason: 'wasm kernels not built (run `node scripts/build-kernels.mjs`)' };
  }
  try {
    return { wasm: createWasmKernels(Buffer.from(b64, 'base64')), reason: 'wasm SIMD' };
  } catch (e) {
    return { wasm: null, reason: `wasm kernels failed to load: ${(e as Error).message}` };
  }
}

const loaded = await loadKernels(() => import(GENERATED_MODULE));

/** The active kernels (wasm when available). */
export function kernels(): Kernels {
  return loaded.wasm ?? TS_KERNELS;
}

/** The wasm kernels, or null when they are not built or failed to load (tests compare them with TS_KERNELS). */
export function wasmKernels(): Kernels | null {
  return loaded.wasm;
}

/** `'wasm'` or `'ts'`, with the reason, e.g. `{ backend: 'ts', reason: 'wasm kernels not built ...' }`. */
export function kernelsBackend(): { backend: 'wasm' | 'ts'; reason: string } {
  return { backend: loaded.wasm ? 'wasm' : 'ts', reason: loaded.reason };
}
