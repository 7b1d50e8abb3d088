/**
 * Field-level reading of one TensorProto for the scanner: dims, data type, which payload field holds the
 * data (and its byte span), and external data entries. Validation that needs only the tensor itself lives
 * here; naming and placement in the model stay in `onnx-scan.ts`.
 */
import { invalidArgument } from '../../errors.js';
import type { OnnxTypeInfo } from './onnx-dtype.js';
import { FIELD } from './onnx-schema.js';
import type { PayloadLocation } from './onnx-scan.js';
import type { WireField } from './onnx-wire.js';
import {
  WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, expectWire, fieldText, readFields, readPackedVarints,
  signedVarint,
} from './onnx-wire.js';

/** The fields of a TensorProto that matter to the store. `kept`: data in fields that stay in the architecture. */
export interface TensorFields {
  dims: number[];
  dataType: number;
  name: string;
  payloads: WireField[];
  kept: boolean;
  external: boolean;
  entries: Map<string, string>;
}

/** INVALID_ARGUMENT when float_data/double_data hold a type they cannot. */
export function checkTypedField(name: string, payload: WireField, info: OnnxTypeInfo): void {
  const T = FIELD.tensor;
  if (payload.no === T.floatData && info.onnxName !== 'FLOAT' && info.onnxName !== 'COMPLEX64') {
    throw invalidArgument(`tensor '${name}' of type ${info.onnxName} stores its data in float_data`);
  }
  if (payload.no === T.doubleData && info.onnxName !== 'DOUBLE' && info.onnxName !== 'COMPLEX128') {
    throw invalidArgument(`tensor '${name}' of type ${info.onnxName} stores its data in double_data`);
  }
}

/** Reads the TensorProto in `msg`; INVALID_ARGUMENT on wrong wire types or bad dims. */
export function readTensorFields(buf: Uint8Array, msg: WireField): TensorFields {
  const T = FIELD.tensor;
  const t: TensorFields = { dims: [], dataType: 0, name: '', payloads: [], kept: false, external: false, entries: new Map() };
  for (const f of readFields(buf, msg.start, msg.end)) {
    if (f.no === T.dims) t.dims.push(...dimsOf(buf, f));
    else if (f.no === T.dataType) t.dataType = smallInt(f, 'TensorProto.data_type');
    else if (f.no === T.name) t.name = wireText(buf, f, 'TensorProto.name');
    else if (f.no === T.rawData) t.payloads.push(checked(f, WIRE_LEN, 'TensorProto.raw_data'));
    else if (f.no === T.floatData || f.no === T.doubleData) {
      if (f.wire === WIRE_LEN) t.payloads.push(f);
      else if (f.wire === (f.no === T.floatData ? WIRE_FIXED32 : WIRE_FIXED64)) t.kept = true;
      else expectWire(f, WIRE_LEN, 'TensorProto typed data');
    } else if (f.no === T.int32Data || f.no === T.int64Data || f.no === T.uint64Data || f.no === T.stringData) {
      t.kept = true;
    } else if (f.no === T.dataLocation) t.external = smallInt(f, 'TensorProto.data_location') === 1;
    else if (f.no === T.externalData) {
      expectWire(f, WIRE_LEN, 'TensorProto.external_data');
      const [k, v] = entryOf(buf, f);
      t.entries.set(k, v);
    }
  }
  if (t.kept && t.payloads.length) throw invalidArgument(`tensor '${t.name}' mixes typed and raw data fields`);
  return t;
}

function checked(f: WireField, wire: number, what: string): WireField {
  expectWire(f, wire, what);
  return f;
}

function wireText(buf: Uint8Array, f: WireField, what: string): string {
  expectWire(f, WIRE_LEN, what);
  return fieldText(buf, f);
}

function smallInt(f: WireField, what: string): number {
  expectWire(f, WIRE_VARINT, what);
  const v = signedVarint(f);
  if (v < -0x80000000n || v > 0x7fffffffn) throw invalidArgument(`${what} ${v} is out of range`);
  return Number(v);
}

function dimsOf(buf: Uint8Array, f: WireField): number[] {
  const raw = f.wire === WIRE_LEN ? readPackedVarints(buf, f.start, f.end) : [checked(f, WIRE_VARINT, 'TensorProto.dims').varint];
  return raw.map((v) => {
    if (typeof v === 'number') return v;
    const d = BigInt.asIntN(64, v);
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`tensor dimension ${d} is invalid`);
    return Number(d);
  });
}

function entryOf(buf: Uint8Array, msg: WireField): [string, string] {
  let key = '';
  let value = '';
  for (const f of readFields(buf, msg.start, msg.end)) {
    if (f.no === FIELD.entry.key) key = wireText(buf, f, 'StringStringEntryProto.key');
    else if (f.no === FIELD.entry.value) value = wireText(buf, f, 'StringStringEntryProto.value');
  }
  return [key, value];
}

/** The external data reference of tensor `name`; INVALID_ARGUMENT when location/offset/length are bad. */
export function externalLocation(name: string, entries: Map<string, string>): PayloadLocation {
  const file = entries.get('location');
  if (!file) throw invalidArgument(`tensor '${name}' has external data without a location`);
  const offset = decimal(name, 'offset', entries.get('offset') ?? '0');
  const len = entries.get('length');
  return { kind: 'external', file, offset, length: len === undefined ? null : decimal(name, 'length', len) };
}

function decimal(name: string, key: string, text: string): number {
  if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw invalidArgument(`tensor '${name}' has external data ${key} '${text}', expected a non-negative integer`);
  }
  return Number(text);
}
