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
 * The rewrite works on the model's protobuf bytes (`rewriteQdqBytes`): graphs, nodes and attributes on the path
 * to a replaced tensor are re-emitted with new length prefixes, every other byte is copied as it is, and
 * weights are read as views of the input, so no message is decoded or re-encoded (onnx-graph-wire.ts,
 * proto-parts.ts). `rewriteWithQdq` is the same on a decoded ModelProto.
 *
 * ONNX Runtime (1.30, CPU) keeps such DequantizeLinear nodes unfolded by default (its constant folding spares
 * them for QDQ fusion): the integer initializers stay in memory and are decoded on every run. The session config
 * entry `session.disable_quant_qdq = 1` (onnxruntime-node: `extra: { session: { disable_quant_qdq: '1' } }`)
 * folds them into float32 initializers at session creation instead.
 */
import { invalidArgument, notSupported } from '../errors.js';
import { elementCount } from '../formats/dtype.js';
import type { OnnxModelProto } from '../formats/onnx/onnx-proto.js';
import { ModelProtoType } from '../formats/onnx/onnx-schema.js';
import { MAX_GRAPH_DEPTH } from '../formats/onnx/onnx-scan.js';
import { WIRE_LEN, type WireField } from '../formats/onnx/onnx-wire.js';
import {
  GRAPH, MODEL, NODE, TENSOR, collectNames, constantValue, defaultOpset, fieldSpans, isSubgraph, nameField,
  floats, readNodeHeader, readTensorHeader, type FieldSpan, type NodeHeader, type TensorHeader,
} from './onnx-graph-wire.js';
import { leBytes, ProtoParts } from './proto-parts.js';

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
  /** Its values, read on first access; may be a view of the model's bytes: do not keep or change it. */
  readonly values: Float32Array;
  /** Where its raw_data payload (else its first float_data field) starts in the bytes being rewritten. */
  readonly payloadStart: number;
}

/** The rewrite's counts. */
export interface QdqStats {
  /** Tensors replaced by DequantizeLinear nodes. */
  readonly replaced: number;
  /** Payload bytes of the replaced FLOAT tensors (4 per element). */
  readonly bytesBefore: number;
  /** Payload bytes of the initializers added for them (codes, deltas, scales, zero points). */
  readonly bytesAfter: number;
}

export interface QdqRewrite extends QdqStats {
  /** A new model; the input message is not modified. */
  readonly model: OnnxModelProto;
}

const DT = { FLOAT: 1, UINT8: 2, INT8: 3, INT16: 5, INT32: 6 } as const;
/** DequantizeLinear exists from opset 10 (uint8, int8, int32 inputs); int16 inputs from opset 21. */
const DQ_MIN_OPSET = 10;
const DQ_INT16_OPSET = 21;

/**
 * Rewrites a copy of `model`, asking `pick` about every FLOAT candidate; `null` leaves the tensor as it is.
 * Errors as `rewriteQdqBytes`.
 */
export function rewriteWithQdq(model: OnnxModelProto, pick: (t: QdqCandidate) => QdqWeight | null): QdqRewrite {
  const { bytes, ...stats } = rewriteQdqBytes(ModelProtoType.encode(model).finish(), pick);
  return { model: ModelProtoType.decode(bytes) as OnnxModelProto, ...stats };
}

/**
 * The model in `bytes` (a ModelProto) rewritten, asking `pick` about every FLOAT candidate; `null` leaves the
 * tensor as it is. The result is new bytes (`bytes` is not modified; unchanged when nothing is picked).
 * Throws NOT_SUPPORTED when the default-domain opset is below 10 (the opset is never bumped: that would change
 * other ops' semantics) or a delta's array type has no ONNX counterpart; INVALID_ARGUMENT naming the tensor
 * when codes do not match its element count, a scale is not finite and > 0 as float32, or a zero point is not
 * in 0..255, when a FLOAT tensor's payload does not match its dims, and when the bytes are not a ModelProto.
 */
export function rewriteQdqBytes(bytes: Uint8Array, pick: (t: QdqCandidate) => QdqWeight | null): QdqStats & { bytes: Uint8Array } {
  const opset = defaultOpset(bytes);
  if (opset === undefined) throw notSupported('the ONNX model imports no default-domain opset, so DequantizeLinear is unavailable');
  if (opset < DQ_MIN_OPSET) {
    throw notSupported(`DequantizeLinear needs default-domain opset >= ${DQ_MIN_OPSET}, the model imports opset ${opset}`);
  }
  const top = fieldSpans(bytes, 0, bytes.length);
  const graphs = top.filter((s) => s.field.no === MODEL.graph);
  if (graphs.length === 0) throw invalidArgument('the ONNX model has no graph');
  const used = new Set<string>();
  const nodes = new Map<number, NodeHeader>();
  for (const g of graphs) collectNames(bytes, g.field, used, nodes);
  const rewriter = new GraphRewriter(bytes, opset, used, nodes, pick);
  const out = new ProtoParts();
  for (const s of top) {
    const graph = s.field.no === MODEL.graph ? rewriter.graph(s.field, 0) : null;
    if (graph) out.message(MODEL.graph, graph);
    else out.bytes(bytes.subarray(s.from, s.to));
  }
  return { bytes: rewriter.replaced ? out.concat() : bytes.slice(), replaced: rewriter.replaced, bytesBefore: rewriter.bytesBefore, bytesAfter: rewriter.bytesAfter };
}

class GraphRewriter {
  replaced = 0;
  bytesBefore = 0;
  bytesAfter = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly opset: number,
    private readonly used: Set<string>,
    private readonly nodes: ReadonlyMap<number, NodeHeader>,
    private readonly pick: (t: QdqCandidate) => QdqWeight | null,
  ) {}

  /** Graph `g`'s new body, or null when nothing in it or below it changed. */
  graph(g: WireField, depth: number): ProtoParts | null {
    if (depth > MAX_GRAPH_DEPTH) throw invalidArgument(`subgraphs nested deeper than ${MAX_GRAPH_DEPTH}`);
    const fields = fieldSpans(this.buf, g.start, g.end);
    const graphInputs = new Set(fields.filter((s) => s.field.no === GRAPH.input).map((s) => nameField(this.buf, s.field, 1)));
    const head = new ProtoParts();
    const added = new ProtoParts();
    const body = new ProtoParts();
    let changed = false;
    for (const { field, from, to } of fields) {
      let done = false;
      if (field.no === GRAPH.initializer) {
        const t = readTensorHeader(this.buf, field);
        done = !graphInputs.has(t.name) && this.replace(t, t.name, head, added);
      } else if (field.no === GRAPH.node) {
        const n = this.nodes.get(field.start) ?? readNodeHeader(this.buf, field);
        const value = constantValue(this.buf, n);
        done = value !== undefined && this.replace(readTensorHeader(this.buf, value), n.outputs[0]!, head, added);
        const node = done || n.subgraphs.length === 0 ? null : this.rewritten(n.fields, NODE.attribute, (a) => this.attribute(a, depth));
        if (node) body.message(GRAPH.node, node);
        done ||= node !== null;
      }
      if (!done) body.bytes(this.buf.subarray(from, to));
      changed ||= done;
    }
    return changed ? head.parts(body).parts(added) : null;
  }

  /** An attribute's new body when a subgraph in it changed, else null. */
  private attribute(a: WireField, depth: number): ProtoParts | null {
    return this.rewritten(fieldSpans(this.buf, a.start, a.end), -1, (f) => (isSubgraph(f) ? this.graph(f, depth + 1) : null));
  }

  /**
   * The message made of `fields`, each length-delimited field numbered `no` (or any, when `no` is -1) replaced
   * by what `child` makes of it; null when `child` changed none of them.
   */
  private rewritten(fields: readonly FieldSpan[], no: number, child: (f: WireField) => ProtoParts | null): ProtoParts | null {
    const out = new ProtoParts();
    let changed = false;
    for (const { field, from, to } of fields) {
      const body = (no === -1 || field.no === no) && field.wire === WIRE_LEN ? child(field) : null;
      if (body) out.message(field.no, body);
      else out.bytes(this.buf.subarray(from, to));
      changed ||= body !== null;
    }
    return changed ? out : null;
  }

  /** Emits the nodes and initializers for tensor `t` named `name` when picked; false when left alone. */
  private replace(t: TensorHeader, name: string, nodes: ProtoParts, inits: ProtoParts): boolean {
    const c = candidate(this.buf, t, name);
    if (!c) return false;
    const w = this.pick(c);
    if (!w) return false;
    const count = elementCount(c.dims);
    checkWeight(c.name, count, w);
    const base = [
      this.initializer(inits, `${name}/q8`, DT.UINT8, c.dims, leBytes(w.base.codes)),
      this.initializer(inits, `${name}/q8_scale`, DT.FLOAT, [], leBytes(Float32Array.of(w.base.scale))),
      this.initializer(inits, `${name}/q8_zero`, DT.UINT8, [], Uint8Array.of(w.base.zeroPoint)),
    ];
    if (!w.delta) {
      node(nodes, 'DequantizeLinear', base, name, this.fresh(`${name}/DequantizeLinear`));
    } else {
      const [type, payload] = deltaPayload(name, w.delta.codes, this.opset);
      const delta = [
        this.initializer(inits, `${name}/delta`, type, c.dims, payload),
        this.initializer(inits, `${name}/delta_scale`, DT.FLOAT, [], leBytes(Float32Array.of(w.delta.scale))),
      ];
      const q8dq = this.fresh(`${name}/q8_dq`);
      const deltaDq = this.fresh(`${name}/delta_dq`);
      node(nodes, 'DequantizeLinear', base, q8dq, this.fresh(`${name}/q8_DequantizeLinear`));
      node(nodes, 'DequantizeLinear', delta, deltaDq, this.fresh(`${name}/delta_DequantizeLinear`));
      node(nodes, 'Add', [q8dq, deltaDq], name, this.fresh(`${name}/Add`));
    }
    this.replaced++;
    this.bytesBefore += 4 * count;
    return true;
  }

  /** Appends a TensorProto initializer under a fresh name derived from `base`; returns the name. */
  private initializer(out: ProtoParts, base: string, dataType: number, dims: readonly number[], raw: Uint8Array): string {
    const name = this.fresh(base);
    const t = new ProtoParts();
    for (const d of dims) t.uint(TENSOR.dims, d);
    t.uint(TENSOR.dataType, dataType).text(TENSOR.name, name).blob(TENSOR.rawData, raw);
    out.message(GRAPH.initializer, t);
    this.bytesAfter += raw.length;
    return name;
  }

  /** `base`, or `base_1`, `base_2`... whichever is free first; the result is then taken. */
  private fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}

function node(out: ProtoParts, opType: string, inputs: readonly string[], output: string, name: string): void {
  const n = new ProtoParts();
  for (const i of inputs) n.text(NODE.input, i);
  n.text(NODE.output, output).text(NODE.name, name).text(NODE.opType, opType);
  out.message(GRAPH.node, n);
}

/**
 * The candidate for a FLOAT tensor held inline, or null for anything else. Its values are read on first use
 * (a pick that decides by name or position never copies them).
 */
function candidate(buf: Uint8Array, t: TensorHeader, name: string): QdqCandidate | null {
  if (t.dataType !== DT.FLOAT || t.elsewhere) return null;
  const dims = t.dims;
  const count = elementCount(dims);
  const raw = t.raw && t.raw.end > t.raw.start ? t.raw : undefined;
  const bytes = raw ? raw.end - raw.start : t.floats.reduce((n, f) => n + (f.wire === WIRE_LEN ? f.end - f.start : 4), 0);
  if (bytes !== 4 * count) {
    throw invalidArgument(`FLOAT tensor '${name}' has ${bytes} bytes of data, its dims [${dims.join(', ')}] need ${4 * count}`);
  }
  let values: Float32Array | undefined;
  const read = (): Float32Array => {
    if (raw) return floats(buf, raw.start, raw.end);
    const parts = t.floats.map((f) => floats(buf, f.start, f.wire === WIRE_LEN ? f.end : f.start + 4));
    if (parts.length === 1) return parts[0]!;
    const out = new Float32Array(count);
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  };
  const payloadStart = raw ? raw.start : (t.floats[0]?.start ?? -1);
  return { name, dims, payloadStart, get values() { return (values ??= read()); } };
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
  if (codes instanceof Int8Array) return [DT.INT8, leBytes(codes)];
  if (codes instanceof Int16Array && opset >= DQ_INT16_OPSET) return [DT.INT16, leBytes(codes)];
  if (codes instanceof Int16Array || codes instanceof Int32Array) return [DT.INT32, leBytes(new Int32Array(codes))];
  throw notSupported(`tensor '${name}': delta codes of type ${(codes as object)?.constructor?.name} have no DequantizeLinear input type`);
}
