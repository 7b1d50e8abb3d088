/**
 * Content detection for ONNX: a file is a model when its top-level protobuf fields all parse, each known
 * ModelProto field has the schema's wire type, and it carries `ir_version` and `graph`. Only the field keys
 * are read (a few bytes per field through the `ByteSource`), so detection never loads the weights.
 */
import type { ByteSource } from '../byte-source.js';
import type { ModelSource } from '../model-format.js';
import { WIRE_LEN, WIRE_VARINT, readVarint } from './onnx-wire.js';

/** Wire type of every ModelProto field (onnx.proto); numbers 27..999 (fields of later IR versions) are let
 * through with any valid wire type, other numbers make the file not a model. */
const MODEL_FIELDS: ReadonlyMap<number, number> = new Map([
  [1, WIRE_VARINT], [2, WIRE_LEN], [3, WIRE_LEN], [4, WIRE_LEN], [5, WIRE_VARINT], [6, WIRE_LEN], [7, WIRE_LEN],
  [8, WIRE_LEN], [14, WIRE_LEN], [20, WIRE_LEN], [25, WIRE_LEN], [26, WIRE_LEN],
]);
/** A model has few top-level fields (opset imports and metadata are the many ones). */
const MAX_TOP_FIELDS = 100_000;
const WINDOW_BYTES = 24;

/** True when `src` holds a ModelProto. Never throws on malformed bytes: it answers false. */
export async function isOnnxModel(src: ByteSource): Promise<boolean> {
  let pos = 0;
  const seen = new Set<number>();
  for (let n = 0; pos < src.size; n++) {
    if (n >= MAX_TOP_FIELDS) return false;
    const window = await src.read(pos, Math.min(WINDOW_BYTES, src.size - pos));
    const field = readTopField(window, pos, src.size);
    if (field === null) return false;
    seen.add(field.no);
    pos = field.end;
  }
  return seen.has(1) && seen.has(7);
}

/** Number and end offset of the field at `pos`, or null when it is not a valid ModelProto field. */
function readTopField(window: Uint8Array, pos: number, size: number): { no: number; end: number } | null {
  try {
    const key = readVarint(window, 0, window.length);
    if (typeof key.value !== 'number' || key.value > 0xffff) return null;
    const no = Math.floor(key.value / 8);
    const expected = MODEL_FIELDS.get(no) ?? (no > 26 && no < 1000 ? key.value % 8 : -1); // newer fields: any wire
    if (expected !== key.value % 8 || expected === 3 || expected === 4 || expected > 5) return null;
    const v = readVarint(window, key.next, window.length);
    if (key.value % 8 === WIRE_VARINT) return { no, end: pos + v.next };
    if (typeof v.value !== 'number') return null;
    const end = pos + v.next + v.value;
    return end <= size ? { no, end } : null;
  } catch {
    return null;
  }
}

/** The model's .onnx file: the first file (those named `*.onnx` tried first) that holds a ModelProto. */
export async function findModelFile(source: ModelSource): Promise<string | null> {
  const files = [...source.files].sort((a, b) => Number(!a.endsWith('.onnx')) - Number(!b.endsWith('.onnx')));
  for (const file of files) {
    if (await isOnnxModel(await source.open(file))) return file;
  }
  return null;
}
