/**
 * Reading the parts of an ONNX model a graph rewrite needs straight from its protobuf bytes (no decode into
 * messages): the fields of a message with their byte ranges, the default-domain opset, TensorProto and
 * NodeProto headers, and every name the model's graphs use. Payloads are read in place (float32 views when
 * aligned, else one copy).
 *
 * Messages and field numbers read here (onnx.proto):
 *   ModelProto        graph = 7, opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2)
 *   GraphProto        node = 1, initializer = 5, input = 11, output = 12, value_info = 13 (ValueInfoProto: name = 1)
 *   NodeProto         input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7
 *   AttributeProto    name = 1, t = 5, g = 6, graphs = 11
 *   TensorProto       dims = 1, data_type = 2, segment = 3, float_data = 4, name = 8, raw_data = 9, data_location = 14
 * Wrong wire types, truncated fields and subgraphs nested deeper than MAX_GRAPH_DEPTH are INVALID_ARGUMENT.
 */
import { invalidArgument } from '../errors.js';
import { MAX_GRAPH_DEPTH } from '../formats/onnx/onnx-scan.js';
import {
  WIRE_FIXED32, WIRE_LEN, WIRE_VARINT, expectWire, fieldText, readField, readPackedVarints, signedVarint, type WireField,
} from '../formats/onnx/onnx-wire.js';

export const MODEL = { graph: 7, opsetImport: 8 } as const;
export const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
export const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
export const ATTRIBUTE = { name: 1, t: 5, g: 6, graphs: 11 } as const;
export const TENSOR = { dims: 1, dataType: 2, segment: 3, floatData: 4, name: 8, rawData: 9, dataLocation: 14 } as const;

/** One field and its whole encoding `[from, to)` (key and length prefix included). */
export interface FieldSpan {
  readonly field: WireField;
  readonly from: number;
  readonly to: number;
}

/** The fields of the message in `buf[start..end)`, in file order. */
export function fieldSpans(buf: Uint8Array, start: number, end: number): FieldSpan[] {
  const out: FieldSpan[] = [];
  for (let pos = start; pos < end;) {
    const { field, next } = readField(buf, pos, end);
    out.push({ field, from: pos, to: next });
    pos = next;
  }
  return out;
}

/** A TensorProto's header: where its float payload sits, not the payload itself. */
export interface TensorHeader {
  name: string;
  dims: number[];
  dataType: number;
  /** data_location is EXTERNAL or a `segment` is set: the payload is not (all) here. */
  elsewhere: boolean;
  /** The last raw_data field (protobuf keeps the last value of a bytes field). */
  raw?: WireField;
  /** float_data fields: packed (wire type 2) or single values (wire type 5). */
  floats: WireField[];
}

export function readTensorHeader(buf: Uint8Array, msg: WireField): TensorHeader {
  expectWire(msg, WIRE_LEN, 'TensorProto');
  const t: TensorHeader = { name: '', dims: [], dataType: 0, elsewhere: false, floats: [] };
  for (const { field: f } of fieldSpans(buf, msg.start, msg.end)) {
    if (f.no === TENSOR.dims) t.dims.push(...dimsOf(buf, f));
    else if (f.no === TENSOR.dataType) t.dataType = smallInt(f, 'TensorProto.data_type');
    else if (f.no === TENSOR.name) t.name = text(buf, f, 'TensorProto.name');
    else if (f.no === TENSOR.rawData) t.raw = lenField(f, 'TensorProto.raw_data');
    else if (f.no === TENSOR.floatData) {
      if (f.wire !== WIRE_FIXED32) expectWire(f, WIRE_LEN, 'TensorProto.float_data');
      t.floats.push(f);
    } else if (f.no === TENSOR.segment) t.elsewhere = true;
    else if (f.no === TENSOR.dataLocation) t.elsewhere ||= smallInt(f, 'TensorProto.data_location') === 1;
  }
  return t;
}

/** A NodeProto's header; `fields` keeps each field's span for copying or rewriting. */
export interface NodeHeader {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  fields: FieldSpan[];
  /** The subgraph fields (`g`, `graphs`) of its attributes, in order. */
  subgraphs: WireField[];
}

export function readNodeHeader(buf: Uint8Array, msg: WireField): NodeHeader {
  expectWire(msg, WIRE_LEN, 'NodeProto');
  const n: NodeHeader = { name: '', opType: '', domain: '', inputs: [], outputs: [], fields: fieldSpans(buf, msg.start, msg.end), subgraphs: [] };
  for (const { field: f } of n.fields) {
    if (f.no === NODE.input) n.inputs.push(text(buf, f, 'NodeProto.input'));
    else if (f.no === NODE.output) n.outputs.push(text(buf, f, 'NodeProto.output'));
    else if (f.no === NODE.name) n.name = text(buf, f, 'NodeProto.name');
    else if (f.no === NODE.opType) n.opType = text(buf, f, 'NodeProto.op_type');
    else if (f.no === NODE.domain) n.domain = text(buf, f, 'NodeProto.domain');
    else if (f.no === NODE.attribute) {
      for (const { field: a } of fieldSpans(buf, lenField(f, 'NodeProto.attribute').start, f.end)) if (isSubgraph(a)) n.subgraphs.push(a);
    }
  }
  return n;
}

/** The `value` tensor field of a default-domain Constant node with one output, if it has one. */
export function constantValue(buf: Uint8Array, n: NodeHeader): WireField | undefined {
  if (n.opType !== 'Constant' || (n.domain && n.domain !== 'ai.onnx') || n.outputs.length !== 1) return undefined;
  for (const { field } of n.fields) {
    if (field.no !== NODE.attribute) continue;
    const attr = fieldSpans(buf, lenField(field, 'NodeProto.attribute').start, field.end);
    const name = attr.find((a) => a.field.no === ATTRIBUTE.name);
    if (!name || text(buf, name.field, 'AttributeProto.name') !== 'value') continue;
    let value: WireField | undefined;
    for (const a of attr) if (a.field.no === ATTRIBUTE.t) value = a.field;
    return value;
  }
  return undefined;
}

/** Whether an AttributeProto field holds a subgraph (`g`, `graphs`). */
export const isSubgraph = (f: WireField): boolean => (f.no === ATTRIBUTE.g || f.no === ATTRIBUTE.graphs) && f.wire === WIRE_LEN;

/** The default-domain opset the model imports, or undefined when it imports none. */
export function defaultOpset(buf: Uint8Array): number | undefined {
  for (const { field } of fieldSpans(buf, 0, buf.length)) {
    if (field.no !== MODEL.opsetImport) continue;
    let domain = '';
    let version = 0;
    for (const { field: f } of fieldSpans(buf, lenField(field, 'ModelProto.opset_import').start, field.end)) {
      if (f.no === 1) domain = text(buf, f, 'OperatorSetIdProto.domain');
      else if (f.no === 2) version = Number(signedVarint(checked(f, WIRE_VARINT, 'OperatorSetIdProto.version')));
    }
    if (!domain || domain === 'ai.onnx') return version;
  }
  return undefined;
}

/**
 * Every value, initializer and node name in graph `g` and the graphs below it, added to `used`; each node's
 * header goes into `nodes` (by its field's start) so a rewrite walking the same graphs need not read it again.
 */
export function collectNames(buf: Uint8Array, g: WireField, used: Set<string>, nodes: Map<number, NodeHeader>, depth = 0): void {
  if (depth > MAX_GRAPH_DEPTH) throw invalidArgument(`subgraphs nested deeper than ${MAX_GRAPH_DEPTH}`);
  for (const { field: f } of fieldSpans(buf, lenField(g, 'GraphProto').start, g.end)) {
    if (f.no === GRAPH.input || f.no === GRAPH.output || f.no === GRAPH.valueInfo) used.add(nameField(buf, f, 1));
    else if (f.no === GRAPH.initializer) used.add(nameField(buf, f, TENSOR.name));
    else if (f.no === GRAPH.node) {
      const n = readNodeHeader(buf, f);
      nodes.set(f.start, n);
      used.add(n.name);
      for (const v of n.inputs) used.add(v);
      for (const v of n.outputs) used.add(v);
      for (const s of n.subgraphs) collectNames(buf, s, used, nodes, depth + 1);
    }
  }
}

/** The string field `no` of the message `msg` ('' when absent). */
export function nameField(buf: Uint8Array, msg: WireField, no: number): string {
  let name = '';
  for (const { field } of fieldSpans(buf, lenField(msg, 'message').start, msg.end)) if (field.no === no) name = text(buf, field, 'name');
  return name;
}

function lenField(f: WireField, what: string): WireField {
  return checked(f, WIRE_LEN, what);
}

function checked(f: WireField, wire: number, what: string): WireField {
  expectWire(f, wire, what);
  return f;
}

function text(buf: Uint8Array, f: WireField, what: string): string {
  return fieldText(buf, lenField(f, what));
}

function smallInt(f: WireField, what: string): number {
  const v = signedVarint(checked(f, WIRE_VARINT, what));
  if (v < -0x80000000n || v > 0x7fffffffn) throw invalidArgument(`${what} ${v} is out of range`);
  return Number(v);
}

function dimsOf(buf: Uint8Array, f: WireField): number[] {
  const raw = f.wire === WIRE_LEN ? readPackedVarints(buf, f.start, f.end) : [checked(f, WIRE_VARINT, 'TensorProto.dims').varint];
  return raw.map((v) => {
    const d = typeof v === 'number' ? v : BigInt.asIntN(64, v);
    if (typeof d === 'bigint') throw invalidArgument(`tensor dimension ${d} is invalid`);
    return d;
  });
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Little-endian float32s in `buf[start..end)`: a view when aligned on a little-endian host, else a copy. */
export function floats(buf: Uint8Array, start: number, end: number): Float32Array {
  const n = (end - start) >> 2;
  if (LITTLE_ENDIAN && (buf.byteOffset + start) % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset + start, n);
  if (LITTLE_ENDIAN) return new Float32Array(Uint8Array.prototype.slice.call(buf, start, end).buffer); // a copy even of a Buffer
  const view = new DataView(buf.buffer, buf.byteOffset + start, end - start);
  return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
}
