/**
 * The wasm path of FINEdex: lookups, range scans and the descent of writes (assembly/finedex.ts, built by `node scripts/build-kernels.mjs` into
 * src/kernels/generated/finedex-wasm.ts): the same lookup as IndexCore's TS path, instantiated over the
 * index's own shared memory, so each thread runs it on the one index in place. It is faster because wasm
 * atomics are plain instructions where Node 20 makes every JS `Atomics` call a 15-25 ns builtin call.
 * The module is compiled once per thread (at import); `FineIndex.stats().path` says whether it is in use.
 */
import type { SharedMemory } from './arena.js';

/** Results of the wasm calls (per key). */
export const W_FOUND = 1;
/** Torn read or a slot held too long: the caller repeats the key on the TS path. */
export const W_GIVE_UP = -1;

/** The exports of assembly/finedex.ts; all pointers are u32 word offsets into the arena. */
export interface WasmReader {
  /** Looks up (hi, lo); `announce` 1 announces the epoch at word `ann`; a hit's value goes to ann + 2, ann + 3. */
  get(hi: number, lo: number, ann: number, announce: number): number;
  /** Looks up `n` keys ((hi, lo) pairs at word `keys`) in one epoch; values to `out`, results to `res`. */
  getMany(keys: number, n: number, out: number, res: number, ann: number): number;
  /**
   * Descends to (hi, lo)'s slot and locks it, announcing the epoch at `ann`: returns the record word (lock
   * and announcement held; top, model, n, i in words ann + 4 .. ann + 7), or 0 (nothing held: use the TS path).
   */
  lockSpot(hi: number, lo: number, ann: number): number;
  /** Up to `cap` pairs in [from, end] as (keyHi, keyLo, valHi, valLo) quads at word `out`; count or W_GIVE_UP. */
  scan(fromHi: number, fromLo: number, endHi: number, endLo: number, out: number, cap: number, ann: number): number;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// A variable specifier keeps tsc from requiring the generated file, which a fresh checkout lacks.
const GENERATED_MODULE = '../kernels/generated/finedex-wasm.js';

/** The compiled module, or null when it is not built (`node scripts/build-kernels.mjs`) or does not compile. */
async function compile(): Promise<object | null> {
  try {
    const b64 = ((await import(GENERATED_MODULE)) as { FINEDEX_WASM_BASE64: string }).FINEDEX_WASM_BASE64;
    return new WASM.Module(Buffer.from(b64, 'base64'));
  } catch {
    return null;
  }
}

const compiled = await compile();

/** The wasm reader over `memory`, or null when the module is not built or does not instantiate. */
export function wasmReader(memory: SharedMemory): WasmReader | null {
  if (compiled === null) return null;
  try {
    return new WASM.Instance(compiled, { env: { memory } }).exports as WasmReader;
  } catch {
    return null;
  }
}
