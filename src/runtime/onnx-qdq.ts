/**
 * QDQ weight rewrite: turns FLOAT weights of an ONNX model into integer initializers plus `DequantizeLinear`
 * (and `Add`) nodes, so ONNX Runtime decodes the stored 8-bit (+ delta) codes itself instead of us inflating
 * them to float32 before loading.
 *
 * Candidates are FLOAT initializers of the main graph and of every subgraph (If/Loop/Scan attributes `g` and
 * `graphs`, any depth), and `Constant` nodes whose `value` is a FLOAT tensor. A picked tensor W (dims D) in
 * graph G becomes, in G (new initializers appended, new nodes put first so topological order holds):
 *
 *   W/q8 : UINT8[D]   W/q8_scale : FLOAT[]   W/q8_zero : UINT8[]
 *   base only:   DequantizeLinear(W/q8, W/q8_scale, W/q8_zero) -> W
 *   with delta:  DequantizeLinear(W/q8, W/q8_scale, W/q8_zero) -> W/q8_dq
 *                DequantizeLinear(W/delta, W/delta_scale) -> W/delta_dq     (W/delta : INT8|INT16|INT32[D])
 *                Add(W/q8_dq, W/delta_dq) -> W
 *
 * Generated names get a `_1`, `_2`... suffix when already used anywhere in the model. Left alone: tensors of
 * other dtypes, sparse initializers, tensors with external data or a `segment`, initializers that are also
 * graph inputs (overridable, so not constants), and function bodies.
 *
 * ONNX Runtime (1.30, CPU) keeps such DequantizeLinear nodes unfolded by default (its constant folding spares
 * them for QDQ fusion): the integer initializers stay in memory and are decoded on every run. The session config
 * entry `session.disable_quant_qdq = 1` (onnxruntime-node: `extra: { session: { disable_quant_qdq: '1' } }`)
 * folds them into float32 initializers at session creation instead.
 */
import type protobuf from 'protobufjs';
import { invalidArgument, notSupported } from '../errors.js';
import { elementCount } from '../formats/dtype.js';
import type { OnnxModelProto } from '../formats/onnx/onnx-proto.js';
import { ModelProtoType, ONNX_ROOT, TensorProtoType } from '../formats/onnx/onnx-schema.js';

/** Integer codes for one tensor, in the tensor's element order. */
export interface QdqWeight {
  /** 8-bit base: value = (codes[i] - zeroPoint) * scale. */
  readonly base: { readonly codes: Uint8Array; readonly scale: number; readonly zeroPoint: number };
  /** Optional delta added to the base: value += codes[i] * scale (zero point 0). */
  readonly delta?: { readonly codes: Int8Array | Int16Array | Int32Array; readonly scale: number };
}

/** A FLOAT tensor found in the model; `name` is the value name the graph uses (a Constant's output name). */
export interface QdqCandidate {
  readonly name: string;
  readonly dims: number[];
  readonly values: Float32Array;
}

export interface QdqRewrite {
  /** A new model; the input message is not modified. */
  readonly model: OnnxModelProto;
  /** Tensors replaced by DequantizeLinear nodes. */
  readonly replaced: number;
  /** Payload bytes of the replaced FLOAT tensors (4 per element). */
  readonly bytesBefore: number;
  /** Payload bytes of the initializers added for them (codes, deltas, scales, zero points). */
  readonly bytesAfter: number;
}

type Msg = protobuf.Message & Record<string, unknown>;
const NodeProtoType = ONNX_ROOT.lookupType('onnx.NodeProto');
const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT16: 5, INT32: 6 } as const;
/** DequantizeLinear exists from opset 10 (uint8, int8, int32 inputs); int16 inputs from opset 21. */
const DQ_MIN_OPSET = 10;
const DQ_INT16_OPSET = 21;

/**
 * Rewrites a copy of `model`, asking `pick` about every FLOAT candidate; `null` leaves the tensor as it is.
 * Throws NOT_SUPPORTED when the default-domain opset is below 10 (the opset is never bumped: that would change
 * other ops' semantics) or a delta's array type has no ONNX counterpart; INVALID_ARGUMENT naming the tensor
 * when codes do not match its element count, a scale is not finite and > 0 as float32, or a zero point is not
 * in 0..255, and when a FLOAT tensor's payload does not match its dims.
 */
export function rewriteWithQdq(model: OnnxModelProto, pick: (t: QdqCandidate) => QdqWeight | null): QdqRewrite {
  const out = ModelProtoType.decode(ModelProtoType.encode(model).finish()) as OnnxModelProto;
  const opset = defaultOpset(out);
  if (opset < DQ_MIN_OPSET) {
    throw notSupported(`DequantizeLinear needs default-domain opset >= ${DQ_MIN_OPSET}, the model imports opset ${opset}`);
  }
  const root = out['graph'] as Msg | undefined;
  if (!root) throw invalidArgument('the ONNX model has no graph');
  const all = graphsUnder(root);
  const rewriter = new GraphRewriter(opset, new NameSet(all), pick);
  for (const g of all) rewriter.rewrite(g);
  return { model: out, replaced: rewriter.replaced, bytesBefore: rewriter.bytesBefore, bytesAfter: rewriter.bytesAfter };
}

function defaultOpset(model: Msg): number {
  const entries = (model['opset_import'] ?? []) as Msg[];
  const entry = entries.find((e) => !e['domain'] || e['domain'] === 'ai.onnx');
  if (!entry) throw notSupported('the ONNX model imports no default-domain opset, so DequantizeLinear is unavailable');
  return toNumber(entry['version']);
}

const toNumber = (v: unknown): number =>
  typeof v === 'number' ? v : v && typeof v === 'object' && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : 0;

/** `root` and every graph held by a node attribute below it, at any depth (parents before children). */
function graphsUnder(root: Msg): Msg[] {
  const out: Msg[] = [];
  const visit = (g: Msg): void => {
    out.push(g);
    for (const n of (g['node'] ?? []) as Msg[]) {
      for (const a of (n['attribute'] ?? []) as Msg[]) {
        if (a['g']) visit(a['g'] as Msg);
        for (const s of (a['graphs'] ?? []) as Msg[]) visit(s);
      }
    }
  };
  visit(root);
  return out;
}

/** Every value, initializer and node name in the model, so generated names never shadow or collide. */
class NameSet {
  private readonly used = new Set<string>();

  constructor(graphs: readonly Msg[]) {
    const names = (xs: unknown): string[] => ((xs ?? []) as Msg[]).map((x) => String(x['name'] ?? ''));
    for (const g of graphs) {
      for (const n of [...names(g['input']), ...names(g['output']), ...names(g['value_info']), ...names(g['initializer'])]) this.used.add(n);
      for (const n of (g['node'] ?? []) as Msg[]) {
        this.used.add(String(n['name'] ?? ''));
        for (const v of [...(n['input'] as string[]), ...(n['output'] as string[])]) this.used.add(v);
      }
    }
  }

  /** `base`, or `base_1`, `base_2`... whichever is free first; the result is then taken. */
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

class GraphRewriter {
  replaced = 0;
  bytesBefore = 0;
  bytesAfter = 0;

  constructor(
    private readonly opset: number,
    private readonly names: NameSet,
    private readonly pick: (t: QdqCandidate) => QdqWeight | null,
  ) {}

  /** Replaces the picked initializers and Constant nodes of one graph (not of its subgraphs). */
  rewrite(g: Msg): void {
    const graphInputs = new Set(((g['input'] ?? []) as Msg[]).map((v) => v['name']));
    const head: Msg[] = [];
    const added: Msg[] = [];
    const initializers: Msg[] = [];
    for (const t of (g['initializer'] ?? []) as Msg[]) {
      const name = String(t['name'] ?? '');
      const done = !graphInputs.has(name) && this.replace(t, name, head, added);
      if (!done) initializers.push(t);
    }
    const nodes: Msg[] = [];
    for (const n of (g['node'] ?? []) as Msg[]) {
      const value = constantValue(n);
      const done = value !== undefined && this.replace(value, (n['output'] as string[])[0]!, head, added);
      if (!done) nodes.push(n);
    }
    g['initializer'] = [...initializers, ...added];
    g['node'] = [...head, ...nodes];
  }

  /** Emits the nodes and initializers for tensor `t` named `name` when picked; false when left alone. */
  private replace(t: Msg, name: string, nodes: Msg[], inits: Msg[]): boolean {
    const c = candidate(t, name);
    if (!c) return false;
    const w = this.pick(c);
    if (!w) return false;
    const count = c.values.length;
    checkWeight(c.name, count, w);
    const q8 = this.names.fresh(`${name}/q8`);
    const base = [
      tensor(q8, DT.UINT8, c.dims, w.base.codes.slice()),
      tensor(this.names.fresh(`${name}/q8_scale`), DT.FLOAT, [], f32Bytes(w.base.scale)),
      tensor(this.names.fresh(`${name}/q8_zero`), DT.UINT8, [], Uint8Array.of(w.base.zeroPoint)),
    ];
    inits.push(...base);
    if (!w.delta) {
      nodes.push(node('DequantizeLinear', base.map((b) => b['name'] as string), name, this.names.fresh(`${name}/DequantizeLinear`)));
    } else {
      const [type, bytes] = deltaPayload(name, w.delta.codes, this.opset);
      const delta = [
        tensor(this.names.fresh(`${name}/delta`), type, c.dims, bytes),
        tensor(this.names.fresh(`${name}/delta_scale`), DT.FLOAT, [], f32Bytes(w.delta.scale)),
      ];
      inits.push(...delta);
      const q8dq = this.names.fresh(`${name}/q8_dq`);
      const deltaDq = this.names.fresh(`${name}/delta_dq`);
      nodes.push(
        node('DequantizeLinear', base.map((b) => b['name'] as string), q8dq, this.names.fresh(`${name}/q8_DequantizeLinear`)),
        node('DequantizeLinear', delta.map((d) => d['name'] as string), deltaDq, this.names.fresh(`${name}/delta_DequantizeLinear`)),
        node('Add', [q8dq, deltaDq], name, this.names.fresh(`${name}/Add`)),
      );
      this.bytesAfter += delta.reduce((n, d) => n + (d['raw_data'] as Uint8Array).length, 0);
    }
    this.replaced++;
    this.bytesBefore += 4 * count;
    this.bytesAfter += base.reduce((n, b) => n + (b['raw_data'] as Uint8Array).length, 0);
    return true;
  }
}

/** The `value` tensor of a default-domain Constant node, if it has one. */
function constantValue(n: Msg): Msg | undefined {
  if (n['op_type'] !== 'Constant' || (n['domain'] && n['domain'] !== 'ai.onnx')) return undefined;
  if ((n['output'] as string[]).length !== 1) return undefined;
  const attr = ((n['attribute'] ?? []) as Msg[]).find((a) => a['name'] === 'value');
  return (attr?.['t'] as Msg | undefined) ?? undefined;
}

/** The candidate for a FLOAT tensor held inline, or null for anything else. */
function candidate(t: Msg, name: string): QdqCandidate | null {
  if (t['data_type'] !== DT.FLOAT || t['data_location'] === 1 || t['segment']) return null;
  const dims = ((t['dims'] ?? []) as unknown[]).map(toNumber);
  const count = elementCount(dims);
  const raw = t['raw_data'] as Uint8Array | undefined;
  const floats = (t['float_data'] ?? []) as number[];
  let values: Float32Array;
  if (raw && raw.length > 0) {
    if (raw.length !== 4 * count) throw invalidArgument(`FLOAT tensor '${name}' has ${raw.length} bytes, its dims [${dims.join(', ')}] need ${4 * count}`);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = view.getFloat32(4 * i, true);
  } else {
    if (floats.length !== count) throw invalidArgument(`FLOAT tensor '${name}' has ${floats.length} values, its dims [${dims.join(', ')}] need ${count}`);
    values = Float32Array.from(floats);
  }
  return { name, dims, values };
}

function checkWeight(name: string, count: number, w: QdqWeight): void {
  const { codes, scale, zeroPoint } = w.base;
  if (!(codes instanceof Uint8Array) || codes.length !== count) {
    throw invalidArgument(`tensor '${name}': base codes must be a Uint8Array of ${count} elements, got ${codes?.length}`);
  }
  checkScale(name, 'base', scale);
  if (!Number.isInteger(zeroPoint) || zeroPoint < 0 || zeroPoint > 255) {
    throw invalidArgument(`tensor '${name}': base zero point ${zeroPoint} is not an integer in 0..255`);
  }
  if (w.delta) {
    if (w.delta.codes?.length !== count) {
      throw invalidArgument(`tensor '${name}': delta codes have ${w.delta.codes?.length} elements, the tensor has ${count}`);
    }
    checkScale(name, 'delta', w.delta.scale);
  }
}

function checkScale(name: string, part: string, scale: number): void {
  const stored = Math.fround(scale);
  if (!(Number.isFinite(stored) && stored > 0)) {
    throw invalidArgument(`tensor '${name}': ${part} scale ${scale} is not finite and > 0 as a float32`);
  }
}

/** The ONNX type and little-endian bytes of delta codes; int16 is widened to int32 below opset 21. */
function deltaPayload(name: string, codes: Int8Array | Int16Array | Int32Array, opset: number): [number, Uint8Array] {
  if (codes instanceof Int8Array) return [DT.INT8, new Uint8Array(codes.buffer, codes.byteOffset, codes.length).slice()];
  if (codes instanceof Int16Array && opset >= DQ_INT16_OPSET) return [DT.INT16, littleEndian(codes, 2)];
  if (codes instanceof Int16Array || codes instanceof Int32Array) return [DT.INT32, littleEndian(codes, 4)];
  throw notSupported(`tensor '${name}': delta codes of type ${(codes as object)?.constructor?.name} have no DequantizeLinear input type`);
}

function littleEndian(codes: Int16Array | Int32Array, width: 2 | 4): Uint8Array {
  const out = new Uint8Array(codes.length * width);
  const view = new DataView(out.buffer);
  for (let i = 0; i < codes.length; i++) {
    if (width === 2) view.setInt16(2 * i, codes[i]!, true);
    else view.setInt32(4 * i, codes[i]!, true);
  }
  return out;
}

function f32Bytes(x: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setFloat32(0, x, true);
  return out;
}

function tensor(name: string, dataType: number, dims: readonly number[], raw: Uint8Array): Msg {
  return TensorProtoType.create({ name, data_type: dataType, dims: [...dims], raw_data: raw }) as Msg;
}

function node(opType: string, inputs: string[], output: string, name: string): Msg {
  return NodeProtoType.create({ input: inputs, output: [output], name, op_type: opType }) as Msg;
}
