/**
 * Finds every tensor payload in an ONNX ModelProto's bytes: graph initializers, sparse initializers, tensor
 * attributes (`Constant` values and any other), recursively through subgraph attributes (`If`/`Loop`/`Scan`),
 * function bodies and training graphs. It reports where each payload sits (a byte span of `raw_data` or of
 * packed `float_data`/`double_data`, or an external file reference) without copying it.
 *
 * Tensors held in varint fields (`int32_data`, `int64_data`, `uint64_data`), unpacked float fields and string
 * tensors are left in the architecture: re-encoding varints can change their length and with it the length
 * prefix of every enclosing message, so splicing would no longer be byte-exact; exporters use these fields
 * only for small constants (shapes, axes) anyway.
 *
 * Names: an initializer keeps its own name; a `Constant` node's value is named after the node's output; any
 * other tensor attribute is `<node>/<attr>` (`<node>` is the node's name, else `<op_type>_<index>`), with `[k]`
 * for list attributes. Subgraphs prefix their tensors with `<node>/<attr>/` (`If_0/then_branch/w`), functions
 * with `functions/<domain>.<name>/`, training graphs with `training_info<i>/<part>/`; sparse tensors add
 * `/values` and `/indices` (a sparse initializer is named after its values tensor, as ONNX does). The reader
 * then suffixes any repeat with `#2`, `#3`... so names are unique.
 */
import { invalidArgument } from '../../errors.js';
import { FIELD } from './onnx-schema.js';
import type { OnnxTypeInfo } from './onnx-dtype.js';
import { ONNX_STRING, ONNX_UNDEFINED, onnxPayloadBytes, onnxTypeInfo } from './onnx-dtype.js';
import { checkTypedField, externalLocation, readTensorFields } from './onnx-tensor-fields.js';
import type { WireField } from './onnx-wire.js';
import { WIRE_LEN, expectWire, fieldText, readFields } from './onnx-wire.js';

/** Subgraphs nested deeper than this are rejected (a "subgraph bomb" would otherwise recurse without end). */
export const MAX_GRAPH_DEPTH = 32;
/** Total nodes over all graphs of one model; more is treated as hostile input. */
export const MAX_NODE_COUNT = 5_000_000;

/** Where a tensor's bytes live: a span of the .onnx file, or a range of an external data file. */
export type PayloadLocation =
  | { readonly kind: 'inline'; readonly start: number; readonly end: number }
  | { readonly kind: 'external'; readonly file: string; readonly offset: number; readonly length: number | null };

/** One tensor found in the model. `name` is qualified by its subgraph path but not yet made unique. */
export interface FoundTensor {
  readonly name: string;
  readonly dataType: number;
  readonly info: OnnxTypeInfo;
  readonly dims: readonly number[];
  readonly byteLength: number;
  readonly location: PayloadLocation;
}

/** What the scan found: tensors to hand to the store, and names of tensors left inside the architecture. */
export interface ScanResult {
  readonly tensors: FoundTensor[];
  readonly kept: string[];
}

/** Caps on hostile structure; defaults `MAX_GRAPH_DEPTH` and `MAX_NODE_COUNT`. */
export interface ScanLimits {
  readonly maxGraphDepth: number;
  readonly maxNodes: number;
}

interface Ctx {
  readonly buf: Uint8Array;
  readonly out: ScanResult;
  readonly limits: ScanLimits;
  nodes: number;
}

/** Scans a whole ModelProto. Throws INVALID_ARGUMENT naming the first malformed structure. */
export function scanOnnxModel(buf: Uint8Array,
  limits: ScanLimits = { maxGraphDepth: MAX_GRAPH_DEPTH, maxNodes: MAX_NODE_COUNT }): ScanResult {
  const ctx: Ctx = { buf, out: { tensors: [], kept: [] }, limits, nodes: 0 };
  let functions = 0;
  let trainings = 0;
  for (const f of readFields(buf, 0, buf.length)) {
    if (f.no === FIELD.model.graph) {
      expectWire(f, WIRE_LEN, 'ModelProto.graph');
      scanGraph(ctx, f, '', 0);
    } else if (f.no === FIELD.model.functions) {
      expectWire(f, WIRE_LEN, 'ModelProto.functions');
      scanFunction(ctx, f, functions++);
    } else if (f.no === FIELD.model.trainingInfo) {
      expectWire(f, WIRE_LEN, 'ModelProto.training_info');
      scanTraining(ctx, f, `training_info${trainings++}/`);
    }
  }
  return ctx.out;
}

function scanTraining(ctx: Ctx, msg: WireField, prefix: string): void {
  for (const f of readFields(ctx.buf, msg.start, msg.end)) {
    if (f.no === FIELD.training.initialization || f.no === FIELD.training.algorithm) {
      expectWire(f, WIRE_LEN, 'TrainingInfoProto graph');
      const part = f.no === FIELD.training.initialization ? 'initialization' : 'algorithm';
      scanGraph(ctx, f, `${prefix}${part}/`, 1);
    }
  }
}

function scanFunction(ctx: Ctx, msg: WireField, index: number): void {
  const fields = readFields(ctx.buf, msg.start, msg.end);
  const name = textOf(ctx, fields, FIELD.function.name) || `function${index}`;
  const domain = textOf(ctx, fields, FIELD.function.domain);
  const prefix = `functions/${domain ? `${domain}.` : ''}${name}/`;
  let nodes = 0;
  for (const f of fields) {
    if (f.no === FIELD.function.node) {
      expectWire(f, WIRE_LEN, 'FunctionProto.node');
      scanNode(ctx, f, prefix, nodes++, 1);
    } else if (f.no === FIELD.function.attributeProto) {
      expectWire(f, WIRE_LEN, 'FunctionProto.attribute_proto');
      scanAttribute(ctx, f, `${prefix}default/`, null, 1);
    }
  }
}

function scanGraph(ctx: Ctx, msg: WireField, prefix: string, depth: number): void {
  const max = ctx.limits.maxGraphDepth;
  if (depth > max) throw invalidArgument(`subgraphs nested deeper than ${max} levels at '${prefix}'`);
  let nodes = 0;
  let inits = 0;
  let sparse = 0;
  for (const f of readFields(ctx.buf, msg.start, msg.end)) {
    if (f.no === FIELD.graph.node) {
      expectWire(f, WIRE_LEN, 'GraphProto.node');
      scanNode(ctx, f, prefix, nodes++, depth);
    } else if (f.no === FIELD.graph.initializer) {
      expectWire(f, WIRE_LEN, 'GraphProto.initializer');
      scanTensor(ctx, f, prefix, `initializer${inits++}`, true);
    } else if (f.no === FIELD.graph.sparseInitializer) {
      expectWire(f, WIRE_LEN, 'GraphProto.sparse_initializer');
      scanSparse(ctx, f, `${prefix}sparse_initializer${sparse++}`, prefix);
    }
  }
}

function scanNode(ctx: Ctx, msg: WireField, prefix: string, index: number, depth: number): void {
  if (++ctx.nodes > ctx.limits.maxNodes) throw invalidArgument(`model has more than ${ctx.limits.maxNodes} nodes`);
  const fields = readFields(ctx.buf, msg.start, msg.end);
  const opType = textOf(ctx, fields, FIELD.node.opType);
  const label = textOf(ctx, fields, FIELD.node.name) || `${opType || 'node'}_${index}`;
  const output0 = textOf(ctx, fields, FIELD.node.output);
  const constName = opType === 'Constant' && output0 ? `${prefix}${output0}` : null;
  for (const f of fields) {
    if (f.no !== FIELD.node.attribute) continue;
    expectWire(f, WIRE_LEN, 'NodeProto.attribute');
    scanAttribute(ctx, f, `${prefix}${label}/`, constName, depth);
  }
}

/** `constName` names the tensor of a Constant node's value after the node's output, as graphs refer to it. */
function scanAttribute(ctx: Ctx, msg: WireField, prefix: string, constName: string | null, depth: number): void {
  const fields = readFields(ctx.buf, msg.start, msg.end);
  const attr = textOf(ctx, fields, FIELD.attribute.name) || 'attr';
  const counts = new Map<number, number>();
  for (const f of fields) {
    const k = counts.get(f.no) ?? 0;
    counts.set(f.no, k + 1);
    const A = FIELD.attribute;
    if (f.no !== A.t && f.no !== A.g && f.no !== A.tensors && f.no !== A.graphs && f.no !== A.sparseTensor
      && f.no !== A.sparseTensors) continue;
    expectWire(f, WIRE_LEN, `AttributeProto '${attr}' field`);
    const many = f.no === A.tensors || f.no === A.graphs || f.no === A.sparseTensors;
    const base = `${prefix}${attr}${many ? `[${k}]` : ''}`;
    if (f.no === A.g || f.no === A.graphs) scanGraph(ctx, f, `${base}/`, depth + 1);
    else if (f.no === A.sparseTensor || f.no === A.sparseTensors) scanSparse(ctx, f, base);
    else scanTensor(ctx, f, '', f.no === A.t && constName ? constName : base, false);
  }
}

/** With `namePrefix`, a sparse initializer is named as ONNX names it: after its `values` tensor. */
function scanSparse(ctx: Ctx, msg: WireField, fallback: string, namePrefix?: string): void {
  const fields = readFields(ctx.buf, msg.start, msg.end);
  const values = fields.find((f) => f.no === FIELD.sparse.values && f.wire === WIRE_LEN);
  const own = namePrefix !== undefined && values ? readTensorFields(ctx.buf, values).name : '';
  const base = own ? `${namePrefix}${own}` : fallback;
  for (const f of fields) {
    if (f.no !== FIELD.sparse.values && f.no !== FIELD.sparse.indices) continue;
    expectWire(f, WIRE_LEN, 'SparseTensorProto tensor');
    scanTensor(ctx, f, '', `${base}/${f.no === FIELD.sparse.values ? 'values' : 'indices'}`, false);
  }
}

function textOf(ctx: Ctx, fields: readonly WireField[], no: number): string {
  const f = fields.find((x) => x.no === no);
  if (!f) return '';
  expectWire(f, WIRE_LEN, `string field ${no}`);
  return fieldText(ctx.buf, f);
}

/** With `useOwnName`, the TensorProto's own `name` (an initializer's) wins over `fallback`. */
function scanTensor(ctx: Ctx, msg: WireField, prefix: string, fallback: string, useOwnName: boolean): void {
  const t = readTensorFields(ctx.buf, msg);
  const name = `${prefix}${useOwnName && t.name ? t.name : fallback}`;
  if (t.dataType === ONNX_STRING || t.kept) {
    ctx.out.kept.push(name);
    return;
  }
  if (t.payloads.length > 1) throw invalidArgument(`tensor '${name}' has ${t.payloads.length} data fields, expected one`);
  const payload = t.payloads[0];
  if (!payload && !t.external) {
    ctx.out.kept.push(name);
    return;
  }
  if (t.dataType === ONNX_UNDEFINED) throw invalidArgument(`tensor '${name}' has data but no data_type`);
  const info = onnxTypeInfo(t.dataType, name);
  const byteLength = onnxPayloadBytes(info, t.dims);
  const base = { name, dataType: t.dataType, info, dims: t.dims, byteLength };
  if (t.external) {
    if (payload) throw invalidArgument(`tensor '${name}' has both external and inline data`);
    ctx.out.tensors.push({ ...base, location: externalLocation(name, t.entries) });
    return;
  }
  checkTypedField(name, payload!, info);
  const size = payload!.end - payload!.start;
  if (size !== byteLength) {
    throw invalidArgument(`tensor '${name}' has ${size} data bytes, but ${info.onnxName} [${t.dims.join(', ')}] needs ${byteLength}`);
  }
  ctx.out.tensors.push({ ...base, location: { kind: 'inline', start: payload!.start, end: payload!.end } });
}
