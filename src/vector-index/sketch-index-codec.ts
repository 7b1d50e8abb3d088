/**
 * Persists a `SketchIndex`: unlike the HNSW blob, it carries its (small, owned) sketches, since the whole
 * point of sketch mode is that the index does not depend on reading full bases.
 *
 *   blob(kind 4) := magic version kind=4 reserved bodyLength body crc      (framing as in index-codec.ts)
 *   body         := seed:u32 dims:u16 elements:i32 graphLength:u32 graph:blob(kind 1)
 *                   count:u32 ( id:f64 min:f32 scale:f32 code:u8{sketchLength} ){count}
 *   sketchLength := min(elements, dims); elements -1 iff count 0; ids equal the graph's ids.
 *
 *   blob(kind 5) := framing around: seed:u32 dims:u16 considerTransposed:u8 count:u32
 *                   ( key:str length:u32 blob(kind 4) ){count}   (every nested sketcher equals the router's)
 */
import type { Quant8 } from '../codecs/quant8.js';
import { corruption, isNeurStoreError } from '../errors.js';
import { ByteWriter } from '../codecs/byte-io.js';
import {
  deserializeHnsw,
  frame,
  KIND_SKETCH,
  KIND_SKETCH_ROUTER,
  readStr,
  serializeHnsw,
  str,
  unframe,
} from './index-codec.js';
import { parseShapeKey } from './shape-table.js';
import { SketchRouter, type SketchRouterOptions } from './sketch-router.js';
import { Quant8L2Space } from './quant8-l2-space.js';
import { SketchIndex } from './sketch-index.js';
import { MAX_SKETCH_DIMS, TensorSketcher } from './tensor-sketcher.js';

const space = new Quant8L2Space();

/** Encodes sketcher settings, graph and sketches. */
export function serializeSketchIndex(index: SketchIndex): Uint8Array {
  const w = new ByteWriter();
  w.u32(index.sketcher.seed);
  w.u16(index.sketcher.dims);
  w.i32(index.tensorElements ?? -1);
  const graph = serializeHnsw(index.sketchGraph, space);
  w.u32(graph.length);
  w.bytes(graph);
  const ids = index.sketchGraph.ids();
  w.u32(ids.length);
  for (const id of ids) {
    const s = index.sketchOf(id)!;
    w.f64(id);
    w.f32(s.min);
    w.f32(s.scale);
    w.bytes(s.codes);
  }
  return frame(KIND_SKETCH, w.finish());
}

/** Decodes `serializeSketchIndex` output; CORRUPTION on any damage. */
export function deserializeSketchIndex(bytes: Uint8Array, name = 'sketch index'): SketchIndex {
  const r = unframe(bytes, KIND_SKETCH, name);
  const seed = r.u32('seed');
  const dims = r.u16('dims');
  r.check(dims >= 1 && dims <= MAX_SKETCH_DIMS, `bad sketch dims ${dims}`);
  const elements = r.i32('elements');
  r.check(elements >= -1, `bad element count ${elements}`);
  const graphBlob = r.bytes(r.u32('graph length'), 'graph');
  const count = r.u32('count');
  r.check((count === 0) === (elements === -1), `${count} sketches for element count ${elements}`);
  const len = Math.min(Math.max(elements, 0), dims);
  r.check(count <= r.remaining / (16 + len), `sketch count ${count} runs past the end`);
  const sketches = new Map<number, Quant8>();
  for (let i = 0; i < count; i++) {
    const id = r.f64('id');
    r.check(Number.isSafeInteger(id) && id >= 0 && !sketches.has(id), `bad or duplicate id ${id}`);
    const min = r.f32('min');
    const scale = r.f32('scale');
    r.check(Number.isFinite(min) && Number.isFinite(scale) && scale >= 0, `bad quantization of sketch ${id}`);
    sketches.set(id, { min, scale, codes: r.bytes(len, 'codes').slice() });
  }
  r.check(r.remaining === 0, `${r.remaining} unexpected bytes after the last sketch`);
  const sketcher = new TensorSketcher(seed, dims);
  const ix = SketchIndex.fromParts(sketcher, elements < 0 ? undefined : elements, sketches, (get) =>
    deserializeHnsw(graphBlob, space, get, `${name} graph`),
  );
  const graphIds = ix.sketchGraph.ids();
  const same = graphIds.length === sketches.size && graphIds.every((id) => sketches.has(id));
  r.check(same, 'graph ids and sketch ids differ');
  r.check(sketches.size === 0 || ix.sketchGraph.dimension === len, 'graph dimension differs from the sketch length');
  return ix;
}


/** Encodes a sketch router: sketcher settings, flag and every per-shape sketch index. */
export function serializeSketchRouter(router: SketchRouter): Uint8Array {
  const w = new ByteWriter();
  w.u32(router.sketcher.seed);
  w.u16(router.sketcher.dims);
  w.u8(router.considerTransposed ? 1 : 0);
  const keys = router.shapeKeys();
  w.u32(keys.length);
  for (const key of keys) {
    str(w, key);
    const blob = serializeSketchIndex(router.indexFor(key)!);
    w.u32(blob.length);
    w.bytes(blob);
  }
  return frame(KIND_SKETCH_ROUTER, w.finish());
}

/** Decodes `serializeSketchRouter` output; `options.hnsw` applies to shapes created after reopening. */
export function deserializeSketchRouter(
  bytes: Uint8Array,
  options: Pick<SketchRouterOptions, 'hnsw'> = {},
  name = 'sketch router',
): SketchRouter {
  const r = unframe(bytes, KIND_SKETCH_ROUTER, name);
  const seed = r.u32('seed');
  const dims = r.u16('dims');
  r.check(dims >= 1 && dims <= MAX_SKETCH_DIMS, `bad sketch dims ${dims}`);
  const flag = r.u8('considerTransposed');
  r.check(flag <= 1, `bad flag ${flag}`);
  const router = new SketchRouter(new TensorSketcher(seed, dims), { ...options, considerTransposed: flag === 1 });
  const count = r.u32('shape count');
  for (let i = 0; i < count; i++) {
    const at = r.pos;
    const key = readStr(r, 'shape key');
    const blob = r.bytes(r.u32('index length'), `index of shape ${key}`);
    const ix = deserializeSketchIndex(blob, `${name} shape ${key}`);
    r.check(ix.sketcher.seed === seed && ix.sketcher.dims === dims, `shape ${key} was sketched differently`);
    try {
      parseShapeKey(key);
      router.adopt(key, ix);
    } catch (e) {
      if (isNeurStoreError(e, 'CORRUPTION')) throw e;
      throw corruption(name, at, `shape entry "${key}": ${(e as Error).message}`);
    }
  }
  r.check(r.remaining === 0, `${r.remaining} unexpected bytes after the last shape`);
  return router;
}
