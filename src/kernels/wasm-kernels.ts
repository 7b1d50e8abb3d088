/**
 * The wasm SIMD kernels behind the `Kernels` interface. Inputs are copied into the module's linear memory
 * (laid out from `heapBase()`, 16-byte aligned, growing the memory on demand), the loop runs, outputs are
 * copied back. Calls whose buffers exceed MAX_WASM_BYTES run the TS kernels instead: results are identical
 * by contract, and it keeps linear memory bounded.
 */
import type { Kernels } from './kernel-types.js';
import { TS_KERNELS, checkMatmulShape } from './kernels-ts.js';

const MAX_WASM_BYTES = 512 * 1024 * 1024;
const PAGE_BYTES = 65536;

/** The slice of the WebAssembly API used here (tsconfig's lib has no DOM types). */
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
  xorBytes(a: number, b: number, out: number, n: number): void;
  splitPlanes(src: number, width: number, out: number, n: number): void;
  mergePlanes(planes: number, width: number, out: number, n: number): void;
  dequantize8(codes: number, min: number, scale: number, out: number, n: number): void;
  rangeF32(x: number, n: number, out: number): number;
  quantizeU8(x: number, n: number, min: number, inv: number, out: number): void;
  residualCodes(x: number, base: number, n: number, inv: number, maxCode: number, out: number): number;
  sqL2Quant8(a: number, aMin: number, aScale: number, b: number, bMin: number, bScale: number, n: number): number;
  dotF32(a: number, b: number, n: number): number;
  quantizeGroups(x: number, base: number, steps: number, groupSize: number, out: number, n: number): void;
  dequantizeGroups(q: number, base: number, steps: number, groupSize: number, out: number, n: number): void;
  dequantizeCodes(codes: number, centers: number, steps: number, overflow: number, overflowLen: number, base: number, groupSize: number, maxCode: number, out: number, n: number): number;
  ransDecode(freq: number, stream: number, len: number, x0: number, x1: number, out: number, n: number, scratch: number): number;
  ransDecode8(freq: number, stream: number, len: number, states: number, out: number, n: number, scratch: number): number;
  ransEncode(input: number, n: number, freq: number, states: number, k: number, out: number, cap: number, scratch: number): number;
  groupMagnitudes(x: number, base: number, n: number, groupSize: number, out: number, src: number): void;
  byteCounts(input: number, n: number, counts: number, scratch: number): void;
  roundHalf(values: number, n: number, dtype: number, bits: number): void;
  dequantizeCodesHalf(codes: number, centers: number, steps: number, overflow: number, overflowLen: number, base: number,
    groupSize: number, maxCode: number, dtype: number, bits: number, n: number, src: number): number;
  encodeGroups(x: number, base: number, n: number, steps: number, groupSize: number, tol: number, dtype: number,
    codes: number, overflow: number, centers: number, decoded: number, qs: number, result: number, src: number,
    rule: number, shrink: number, halfMaxCode: number): void;
  matmulU8(x: number, m: number, k: number, codes: number, n: number, min: number, scale: number, out: number, add: boolean, acc: number): void;
  matmulS8(x: number, m: number, k: number, codes: number, n: number, scale: number, out: number, add: boolean, acc: number): void;
  matmulS16(x: number, m: number, k: number, codes: number, n: number, scale: number, out: number, add: boolean, acc: number): void;
  matmulF32(x: number, m: number, k: number, w: number, n: number, out: number, add: boolean, acc: number): void;
}

/** Scratch for the rANS decoder's slot tables: 9 bytes per slot of 2^15 (filled by the wasm side). */
const RANS_SCRATCH_BYTES = 9 * (1 << 15);
/** Below this many symbols the copy and table setup cost more than the TS loop. */
const RANS_MIN_WASM = 1 << 12;
/**
 * Scratch of the matmul exports, as assembly/matmul.ts lays it out: a k × 8 f32 strip, m f32 row biases
 * (padded to 16 bytes), 4 rows of n f32 sums. Computed here in doubles, so no size can wrap around.
 */
const matmulScratchBytes = (m: number, k: number, n: number): number => 32 * k + Math.ceil(m / 4) * 16 + 16 * n;

type View = ArrayBufferView | null;

/** Lays out `arrays` in linear memory and returns their addresses (0 for null); null when too large. */
function layout(ex: Exports, arrays: readonly View[], extraBytes: number): number[] | null {
  let p = (ex.heapBase() + 15) & ~15;
  const addrs: number[] = [];
  for (const a of arrays) {
    addrs.push(a ? p : 0);
    if (a) p += (a.byteLength + 15) & ~15;
  }
  p += extraBytes;
  if (p > MAX_WASM_BYTES) return null;
  const have = ex.memory.buffer.byteLength;
  if (p > have) ex.memory.grow(Math.ceil((p - have) / PAGE_BYTES));
  return addrs;
}

function copyIn(ex: Exports, addr: number, a: View): void {
  if (a) new Uint8Array(ex.memory.buffer, addr, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

function copyOut(ex: Exports, addr: number, a: ArrayBufferView): void {
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength).set(new Uint8Array(ex.memory.buffer, addr, a.byteLength));
}

/**
 * Runs `fn` on wasm copies of `inputs` + `output` (+ `scratchBytes` of uninitialized memory, last address);
 * returns false (nothing done) when the buffers are too large. `output` is copied in too when `outputIn`
 * (for kernels that read it, e.g. matmul with accumulate), else its wasm copy starts uninitialized.
 */
function run(
  ex: Exports, inputs: readonly View[], output: ArrayBufferView | null, fn: (addrs: number[]) => void, scratchBytes = 0,
  outputIn = false,
): boolean {
  const all: View[] = output ? [...inputs, output] : [...inputs];
  if (scratchBytes > 0) all.push(new Uint8Array(0)); // placeholder address; sized below
  const addrs = layout(ex, all, scratchBytes);
  if (!addrs) return false;
  inputs.forEach((a, k) => copyIn(ex, addrs[k]!, a));
  if (output && outputIn) copyIn(ex, addrs[inputs.length]!, output);
  fn(addrs);
  if (output) copyOut(ex, addrs[inputs.length]!, output);
  return true;
}

/** Instantiates the module synchronously from its bytes. Throws if the bytes are not a valid module. */
export function createWasmKernels(bytes: Uint8Array): Kernels {
  const instance = new WASM.Instance(new WASM.Module(bytes), {
    env: { abort: () => { throw new Error('wasm kernel aborted'); } },
  });
  const ex = instance.exports as unknown as Exports;
  const T = TS_KERNELS;
  /** Runs one matmul export on wasm copies of x, W and out (out copied in too when accumulating). */
  const matmul = (
    name: string, x: Float32Array, m: number, k: number, w: ArrayBufferView & ArrayLike<number>, n: number,
    out: Float32Array, add: boolean, fn: (px: number, pw: number, po: number, pacc: number) => void,
  ): boolean => {
    checkMatmulShape(name, x, m, k, w, n, out);
    return run(ex, [x, w], out, ([px, pw, po, pacc]) => fn(px!, pw!, po!, pacc!), matmulScratchBytes(m, k, n) + 16, add);
  };
  return {
    matmulU8(x, m, k, codes, n, min, scale, out, add) {
      const ok = matmul('matmulU8', x, m, k, codes, n, out, add, (px, pc, po, pa) => ex.matmulU8(px, m, k, pc, n, min, scale, po, add, pa));
      if (!ok) T.matmulU8(x, m, k, codes, n, min, scale, out, add);
    },
    matmulS8(x, m, k, codes, n, scale, out, add) {
      const ok = matmul('matmulS8', x, m, k, codes, n, out, add, (px, pc, po, pa) => ex.matmulS8(px, m, k, pc, n, scale, po, add, pa));
      if (!ok) T.matmulS8(x, m, k, codes, n, scale, out, add);
    },
    matmulS16(x, m, k, codes, n, scale, out, add) {
      const ok = matmul('matmulS16', x, m, k, codes, n, out, add, (px, pc, po, pa) => ex.matmulS16(px, m, k, pc, n, scale, po, add, pa));
      if (!ok) T.matmulS16(x, m, k, codes, n, scale, out, add);
    },
    matmulF32(x, m, k, w, n, out, add) {
      const ok = matmul('matmulF32', x, m, k, w, n, out, add, (px, pw, po, pa) => ex.matmulF32(px, m, k, pw, n, po, add, pa));
      if (!ok) T.matmulF32(x, m, k, w, n, out, add);
    },
    ransDecode(freq, stream, states, out) {
      if (out.length < RANS_MIN_WASM || (states.length !== 2 && states.length !== 8)) return T.ransDecode(freq, stream, states, out);
      let r = 0;
      // The 8-state kernel may read up to 16 bytes past a truncated stream before it notices: the states and
      // `out` are laid out after the stream, so those reads stay inside the module's memory.
      const ok = run(ex, [freq, stream, states], out, ([pf, ps, px, po, pscr]) => {
        r = states.length === 8
          ? ex.ransDecode8(pf!, ps!, stream.length, px!, po!, out.length, pscr!)
          : ex.ransDecode(pf!, ps!, stream.length, states[0]!, states[1]!, po!, out.length, pscr!);
      }, RANS_SCRATCH_BYTES);
      return ok ? r : T.ransDecode(freq, stream, states, out);
    },
    ransEncode(input, freq, states, out) {
      const k = states.length;
      const n = input.length;
      if (n < RANS_MIN_WASM || (k !== 2 && k !== 8)) return T.ransEncode(input, freq, states, out);
      // `out` is not copied in: the kernel writes its end, and only the bytes written are copied back.
      const addrs = layout(ex, [input, freq, states, out], 4096);
      if (!addrs) return T.ransEncode(input, freq, states, out);
      const [pi, pf, ps, po] = addrs as [number, number, number, number];
      copyIn(ex, pi, input);
      copyIn(ex, pf, freq);
      copyIn(ex, ps, states);
      const p = ex.ransEncode(pi, n, pf, ps, k, po, out.length, po + ((out.length + 15) & ~15));
      copyOut(ex, ps, states);
      out.set(new Uint8Array(ex.memory.buffer, po + p, out.length - p), p);
      return p;
    },
    roundHalf(values, dtype, bits) {
      const addrs = layout(ex, [values, bits], 0);
      if (!addrs) {
        T.roundHalf(values, dtype, bits);
        return;
      }
      const [pv, pb] = addrs as [number, number];
      copyIn(ex, pv, values);
      ex.roundHalf(pv, values.length, dtype, pb);
      copyOut(ex, pv, values);
      copyOut(ex, pb, bits);
    },
    byteCounts(input, counts) {
      if (input.length < RANS_MIN_WASM) {
        T.byteCounts(input, counts);
        return;
      }
      const ok = run(ex, [input], counts, ([pi, pc, ps]) => ex.byteCounts(pi!, input.length, pc!, ps!), 4096, true);
      if (!ok) T.byteCounts(input, counts);
    },
    groupMagnitudes(x, base, groupSize, out, half = 2) {
      const src = x instanceof Uint16Array ? half : 0;
      const ok = run(ex, [x, base], out, ([px, pb, po]) => ex.groupMagnitudes(px!, pb!, x.length, groupSize, po!, src));
      if (!ok) T.groupMagnitudes(x, base, groupSize, out, half);
    },
    encodeGroups(x, base, steps, groupSize, tol, dtype, codes, overflow, centers, decoded, rule) {
      const n = x.length;
      // Outputs are not copied in, and only their written parts are copied back (untouched wasm pages stay
      // unbacked, so the 4-bytes-an-element overflow room costs no memory).
      const qsBytes = 4 * Math.min(groupSize, n);
      const addrs = layout(ex, [x, base, steps, centers, codes, overflow, decoded], qsBytes + 16 + 24);
      if (!addrs) return T.encodeGroups(x, base, steps, groupSize, tol, dtype, codes, overflow, centers, decoded, rule);
      const [px, pb, ps, pk, pc, pv, pd] = addrs as [number, number, number, number, number, number, number];
      copyIn(ex, px, x);
      copyIn(ex, pb, base);
      if (!rule) copyIn(ex, ps, steps);
      const pq = (pd + decoded.byteLength + 15) & ~15;
      const pr = (pq + qsBytes + 15) & ~15;
      const src = x instanceof Uint16Array ? dtype : 0;
      ex.encodeGroups(px, pb, n, ps, groupSize, tol, dtype, pc, pv, pk, pd, pq, pr, src, rule ? 1 : 0, rule?.shrink ?? 0, rule?.halfMaxCode ?? 0);
      const [nc, no, maxError] = new Float64Array(ex.memory.buffer, pr, 3) as unknown as [number, number, number];
      copyOut(ex, ps, steps);
      copyOut(ex, pk, centers);
      codes.set(new Uint8Array(ex.memory.buffer, pc, nc));
      overflow.set(new Uint8Array(ex.memory.buffer, pv, no));
      copyOut(ex, pd, decoded);
      return { codes: nc, overflow: no, maxError };
    },
    xorBytes(a, b, out) {
      const n = out.length;
      if (!run(ex, [a.subarray(0, n), b.subarray(0, n)], out, ([pa, pb, po]) => ex.xorBytes(pa!, pb!, po!, n))) T.xorBytes(a, b, out);
    },
    splitPlanes(src, width, out) {
      const n = src.length / width;
      if (!run(ex, [src], out, ([ps, po]) => ex.splitPlanes(ps!, width, po!, n))) T.splitPlanes(src, width, out);
    },
    mergePlanes(planes, width, out) {
      const n = planes.length / width;
      if (!run(ex, [planes], out, ([ps, po]) => ex.mergePlanes(ps!, width, po!, n))) T.mergePlanes(planes, width, out);
    },
    quantize8(x, codes) {
      if (!(x instanceof Float32Array) || x.length === 0) return T.quantize8(x, codes);
      const n = x.length;
      let r: { min: number; scale: number } | null = null;
      const ok = run(ex, [x], codes, ([px, pc, pr]) => {
        if (ex.rangeF32(px!, n, pr!) !== 0) return;
        const [min, max] = new Float64Array(ex.memory.buffer, pr!, 2);
        const fmin = Math.fround(min!);
        const scale = Math.fround((max! - fmin) / 255);
        if (scale > 0) ex.quantizeU8(px!, n, fmin, 1 / scale, pc!);
        else new Uint8Array(ex.memory.buffer, pc!, n).fill(0);
        r = { min: fmin, scale };
      }, 16);
      return ok ? r : T.quantize8(x, codes);
    },
    residualCodes(x, base, inv, maxCode, out) {
      let peak = 0;
      const ok = run(ex, [x, base], out, ([px, pb, po]) => { peak = ex.residualCodes(px!, pb!, x.length, inv, maxCode, po!); });
      return ok ? peak : T.residualCodes(x, base, inv, maxCode, out);
    },
    dequantize8(codes, min, scale, out) {
      const n = codes.length;
      if (!run(ex, [codes], out, ([pc, po]) => ex.dequantize8(pc!, min, scale, po!, n))) T.dequantize8(codes, min, scale, out);
    },
    sqL2Quant8(a, aMin, aScale, b, bMin, bScale) {
      let s = 0;
      const ok = run(ex, [a, b], null, ([pa, pb]) => { s = ex.sqL2Quant8(pa!, aMin, aScale, pb!, bMin, bScale, a.length); });
      return ok ? s : T.sqL2Quant8(a, aMin, aScale, b, bMin, bScale);
    },
    dotF32(a, b) {
      let s = 0;
      const ok = run(ex, [a, b], null, ([pa, pb]) => { s = ex.dotF32(pa!, pb!, a.length); });
      return ok ? s : T.dotF32(a, b);
    },
    quantizeGroups(x, base, steps, groupSize, out) {
      const ok = run(ex, [x, base, steps], out, ([px, pb, ps, po]) => ex.quantizeGroups(px!, pb!, ps!, groupSize, po!, x.length));
      if (!ok) T.quantizeGroups(x, base, steps, groupSize, out);
    },
    dequantizeCodes(codes, centers, steps, overflow, base, groupSize, maxCode, out) {
      let r = 0;
      const ok = run(ex, [codes, centers, steps, overflow, base], out, ([pc, pk, ps, pv, pb, po]) => {
        r = ex.dequantizeCodes(pc!, pk!, ps!, pv!, overflow.length, pb!, groupSize, maxCode, po!, out.length);
      });
      return ok ? r : T.dequantizeCodes(codes, centers, steps, overflow, base, groupSize, maxCode, out);
    },
    dequantizeCodesHalf(codes, centers, steps, overflow, base, groupSize, maxCode, dtype, bits) {
      let r = 0;
      const src = base instanceof Uint16Array ? dtype : 0;
      const ok = run(ex, [codes, centers, steps, overflow, base], bits, ([pc, pk, ps, pv, pb, po]) => {
        r = ex.dequantizeCodesHalf(pc!, pk!, ps!, pv!, overflow.length, pb!, groupSize, maxCode, dtype, po!, bits.length, src);
      });
      return ok ? r : T.dequantizeCodesHalf(codes, centers, steps, overflow, base, groupSize, maxCode, dtype, bits);
    },
    dequantizeGroups(q, base, steps, groupSize, out) {
      const ok = run(ex, [q, base, steps], out, ([pq, pb, ps, po]) => ex.dequantizeGroups(pq!, pb!, ps!, groupSize, po!, q.length));
      if (!ok) T.dequantizeGroups(q, base, steps, groupSize, out);
    },
  };
}
