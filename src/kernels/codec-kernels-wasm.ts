/**
 * The wasm codec kernels (assembly/codec-kernels.ts) behind `CodecKernels`: inputs are copied into the
 * module's linear memory (from heapBase(), 16-byte aligned, grown on demand), the loop runs, outputs are
 * copied back. Calls needing more than MAX_WASM_BYTES of linear memory run the TS kernels (identical results).
 * The plane arena's regions sit at the bottom of that memory while reserved (the other kernels lay their
 * buffers out above them), and an argument that already lives in the module's memory (a region's view) is
 * used where it is, not copied.
 */
import { TS_CODEC_KERNELS, type CodecKernels, type PlaneArena } from './codec-kernels-ts.js';

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
  mergePlanes(planes: number, width: number, n: number, base: number, out: number): void;
  splitPlanes(src: number, width: number, n: number, base: number, basePlanes: number, planes: number): void;
  xorInto(dst: number, src: number, n: number): void;
}

/** Bytes from heapBase() held by the plane arena (0 when none is reserved). */
let reserved = 0;

/** Addresses for buffers of `sizes` bytes laid out above heapBase() and the arena (memory grown to fit), or null when too large. */
function layout(ex: Exports, sizes: readonly number[], extra = 0): number[] | null {
  let p = ((ex.heapBase() + 15) & ~15) + reserved;
  const addrs = sizes.map((n) => {
    const a = p;
    p += (n + 15) & ~15;
    return a;
  });
  p += extra;
  if (p > MAX_WASM_BYTES) return null;
  const have = ex.memory.buffer.byteLength;
  if (p > have) ex.memory.grow(Math.ceil((p - have) / PAGE_BYTES));
  return addrs;
}

const view = (ex: Exports, addr: number, n: number): Uint8Array => new Uint8Array(ex.memory.buffer, addr, n);

/** The address of `a` when it is a view of the module's memory, else -1. */
const addressOf = (ex: Exports, a: Uint8Array): number => (a.buffer === ex.memory.buffer ? a.byteOffset : -1);

/**
 * The arena: `count` regions of `length` bytes from heapBase(); the memory is grown at `reserve` to hold them
 * and room for the sparse kernels' map and values (so no growth, which would detach the views, happens while
 * they are held).
 */
function wasmPlaneArena(ex: Exports): PlaneArena {
  let at: number[] = [];
  let length = 0;
  return {
    reserve(n, count) {
      const room = (n + 15) & ~15;
      reserved = 0;
      const addrs = layout(ex, new Array<number>(count).fill(n), 2 * room + 64);
      if (!addrs) return null;
      at = addrs;
      length = n;
      reserved = count * room;
      return addrs.map((a) => view(ex, a, n));
    },
    merge(width, xor, out) {
      const [planes, base] = at as [number, number];
      const n = out.length / width;
      // In place into region 1 (the base, when there is one), then one copy out.
      ex.mergePlanes(planes, width, n, xor ? base : 0, base);
      out.set(view(ex, base, length));
    },
    split(width, against) {
      const [planes, src, base] = at as [number, number, number];
      ex.splitPlanes(src, width, length / width, against === 'bytes' ? base : 0, against === 'planes' ? base : 0, planes);
    },
    xor(to, from) {
      ex.xorInto(at[to]!, at[from]!, length);
    },
    release() {
      reserved = 0;
      at = [];
    },
  };
}

export function createWasmCodecKernels(bytes: Uint8Array): CodecKernels {
  const instance = new WASM.Instance(new WASM.Module(bytes), {
    env: { abort: () => { throw new Error('wasm kernel aborted'); } },
  });
  const ex = instance.exports as unknown as Exports;
  return {
    arena: wasmPlaneArena(ex),
    sparseSplit(input, fill, map, values) {
      const n = input.length;
      const here = addressOf(ex, input);
      // values: n bytes and the 16 the kernel's last block may store past them.
      const at = layout(ex, here >= 0 ? [0, map.length, n + 16] : [n, map.length, n + 16]);
      if (!at) return TS_CODEC_KERNELS.sparseSplit(input, fill, map, values);
      const [pm, pv] = at.slice(1) as [number, number];
      const pi = here >= 0 ? here : at[0]!;
      if (here < 0) view(ex, pi, n).set(input);
      const k = ex.sparseSplit(pi, n, fill, pm, pv);
      map.set(view(ex, pm, map.length));
      values.set(view(ex, pv, k));
      return k;
    },
    sparseMerge(map, values, fill, out) {
      const here = addressOf(ex, out);
      // values: and the 16 bytes past them the kernel's last block may load (and ignore).
      const at = layout(ex, [map.length, values.length + 16, here >= 0 ? 0 : out.length]);
      if (!at) return TS_CODEC_KERNELS.sparseMerge(map, values, fill, out);
      const [pm, pv] = at as [number, number];
      const po = here >= 0 ? here : at[2]!;
      view(ex, pm, map.length).set(map);
      view(ex, pv, values.length).set(values);
      const r = ex.sparseMerge(pm, map.length, pv, values.length, fill, po, out.length);
      if (here < 0) out.set(view(ex, po, out.length));
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
