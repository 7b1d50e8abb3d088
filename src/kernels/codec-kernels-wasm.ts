/**
 * The wasm codec kernels (assembly/codec-kernels.ts) behind `CodecKernels`: inputs are copied into the
 * module's linear memory (from heapBase(), 16-byte aligned, grown on demand), the loop runs, outputs are
 * copied back. Calls needing more than MAX_WASM_BYTES of linear memory run the TS kernels (identical results).
 */
import { TS_CODEC_KERNELS, type CodecKernels } from './codec-kernels-ts.js';

const MAX_WASM_BYTES = 512 * 1024 * 1024;
const PAGE_BYTES = 65536;

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
}
const WASM = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: WasmMemory;
  heapBase(): number;
  sparseSplit(input: number, n: number, fill: number, map: number, values: number): number;
  sparseMerge(map: number, mapLen: number, values: number, count: number, fill: number, out: number, n: number): number;
  xxh32(input: number, n: number, seed: number): number;
}

/** Addresses for buffers of `sizes` bytes laid out from heapBase() (memory grown to fit), or null when too large. */
function layout(ex: Exports, sizes: readonly number[]): number[] | null {
  let p = (ex.heapBase() + 15) & ~15;
  const addrs = sizes.map((n) => {
    const a = p;
    p += (n + 15) & ~15;
    return a;
  });
  if (p > MAX_WASM_BYTES) return null;
  const have = ex.memory.buffer.byteLength;
  if (p > have) ex.memory.grow(Math.ceil((p - have) / PAGE_BYTES));
  return addrs;
}

const view = (ex: Exports, addr: number, n: number): Uint8Array => new Uint8Array(ex.memory.buffer, addr, n);

export function createWasmCodecKernels(bytes: Uint8Array): CodecKernels {
  const instance = new WASM.Instance(new WASM.Module(bytes), {
    env: { abort: () => { throw new Error('wasm kernel aborted'); } },
  });
  const ex = instance.exports as unknown as Exports;
  return {
    sparseSplit(input, fill, map, values) {
      const n = input.length;
      const at = layout(ex, [n, map.length, n]);
      if (!at) return TS_CODEC_KERNELS.sparseSplit(input, fill, map, values);
      const [pi, pm, pv] = at as [number, number, number];
      view(ex, pi, n).set(input);
      const k = ex.sparseSplit(pi, n, fill, pm, pv);
      map.set(view(ex, pm, map.length));
      values.set(view(ex, pv, k));
      return k;
    },
    sparseMerge(map, values, fill, out) {
      const at = layout(ex, [map.length, values.length, out.length]);
      if (!at) return TS_CODEC_KERNELS.sparseMerge(map, values, fill, out);
      const [pm, pv, po] = at as [number, number, number];
      view(ex, pm, map.length).set(map);
      view(ex, pv, values.length).set(values);
      const r = ex.sparseMerge(pm, map.length, pv, values.length, fill, po, out.length);
      out.set(view(ex, po, out.length));
      return r;
    },
    xxh32(input, seed) {
      const at = layout(ex, [input.length]);
      if (!at) return TS_CODEC_KERNELS.xxh32(input, seed);
      view(ex, at[0]!, input.length).set(input);
      return ex.xxh32(at[0]!, input.length, seed) >>> 0;
    },
  };
}
