/**
 * Parses and validates the JSON half of a TF.js model: a `model.json` (graph or layers model, with a
 * `weightsManifest`) or a bare weights manifest (a JSON array of `{paths, weights}` groups, as face-api ships).
 *
 * Each manifest weight is mapped onto the store dtype of the bytes it occupies in the shards, so a tensor's
 * stored bytes are exactly its shard bytes: an affine-quantized weight is `U8`/`U16`, a float16-quantized one
 * `F16`, `complex64` is `F32` with a trailing dimension of 2. String weights have no fixed size (each element
 * is a u32 length and its bytes); they are flagged here and the reader keeps their bytes in the architecture.
 */
import { invalidArgument } from '../../errors.js';
import type { DType } from '../dtype.js';
import { DTYPE_BYTES } from '../dtype.js';

/** Affine (or float16) quantization of a manifest entry, as TF.js spells it. */
export interface TfjsQuantization {
  readonly dtype: 'float16' | 'uint8' | 'uint16';
  readonly scale?: number;
  readonly min?: number;
  readonly original_dtype?: string;
}

/** One weight of a manifest group, in shard order. */
export interface ManifestWeight {
  readonly name: string;
  /** The manifest's own dtype ('float32', 'int32', 'bool', 'complex64', 'string'). */
  readonly tfjsDtype: string;
  /** The manifest's quantization, when the weight is stored quantized. */
  readonly quantization?: TfjsQuantization;
  /** Store dtype of the stored bytes (ignored for strings). */
  readonly dtype: DType;
  /** Store shape: the manifest shape, with a trailing 2 for complex64. */
  readonly shape: readonly number[];
  /** Bytes in the shards; undefined for strings, whose size only the shard bytes tell. */
  readonly byteLength: number | undefined;
  /** Number of elements of the manifest shape (strings: number of strings). */
  readonly elements: number;
}

/** A manifest group: its shards (as the manifest spells them) and its weights, laid out back to back. */
export interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: readonly ManifestWeight[];
}

/** `model` for a model.json object, `weights` for a bare manifest array. */
export type TfjsJsonKind = 'model' | 'weights';

export interface TfjsManifest {
  readonly kind: TfjsJsonKind;
  readonly groups: readonly ManifestGroup[];
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isGroupLike(v: Json): boolean {
  return isObject(v) && Array.isArray(v.paths) && Array.isArray(v.weights);
}

/** Which kind of TF.js JSON a parsed value is, judged by its shape only; undefined when it is neither. */
export function tfjsJsonKind(json: Json): TfjsJsonKind | undefined {
  if (Array.isArray(json)) return json.length > 0 && json.every(isGroupLike) ? 'weights' : undefined;
  if (isObject(json) && ('weightsManifest' in json || 'modelTopology' in json)) return 'model';
  return undefined;
}

/** Decodes UTF-8 and parses JSON; INVALID_ARGUMENT naming the file on bad UTF-8 or bad JSON. */
export function parseJsonBytes(bytes: Uint8Array, file: string): Json {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw invalidArgument(`${file}: not valid UTF-8`, e);
  }
  try {
    return JSON.parse(text) as Json;
  } catch (e) {
    throw invalidArgument(`${file}: invalid JSON (${(e as Error).message})`, e);
  }
}

/**
 * Validates a parsed TF.js JSON and returns its manifest. Throws INVALID_ARGUMENT naming the file and the
 * offending weight for a bad structure, an unknown dtype or quantization, or a bad shape.
 */
export function parseTfjsManifest(json: Json, file: string): TfjsManifest {
  const kind = tfjsJsonKind(json);
  if (kind === undefined) {
    throw invalidArgument(
      `${file}: neither a TF.js model.json (no weightsManifest or modelTopology) nor a weights manifest`,
    );
  }
  let groupsJson: Json = kind === 'weights' ? json : (json as Record<string, Json>).weightsManifest;
  if (groupsJson === undefined) groupsJson = [];
  if (!Array.isArray(groupsJson)) throw invalidArgument(`${file}: weightsManifest is not an array`);
  const groups = groupsJson.map((g, i) => parseGroup(g, `${file}: weightsManifest[${i}]`));
  return { kind, groups };
}

function parseGroup(g: Json, where: string): ManifestGroup {
  if (!isObject(g)) throw invalidArgument(`${where} is not an object`);
  const { paths, weights } = g;
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw invalidArgument(`${where}.paths is not an array of file names`);
  }
  if (!Array.isArray(weights)) throw invalidArgument(`${where}.weights is not an array`);
  if (paths.length === 0 && weights.length > 0) throw invalidArgument(`${where} has weights but no paths`);
  return { paths: paths as string[], weights: weights.map((w, i) => parseWeight(w, `${where}.weights[${i}]`)) };
}

function parseShape(shape: Json, where: string): number[] {
  if (!Array.isArray(shape)) throw invalidArgument(`${where}: shape is not an array`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw invalidArgument(`${where}: bad dimension ${JSON.stringify(d)} in shape ${JSON.stringify(shape)}`);
    }
  }
  return shape as number[];
}

function countElements(shape: readonly number[], where: string): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (!Number.isSafeInteger(n)) throw invalidArgument(`${where}: shape [${shape.join(', ')}] is too large`);
  return n;
}

const PLAIN_DTYPES: Readonly<Record<string, DType>> = { float32: 'F32', int32: 'I32', bool: 'BOOL', complex64: 'F32' };
const QUANT_DTYPES: Readonly<Record<string, DType>> = { float16: 'F16', uint8: 'U8', uint16: 'U16' };

function parseWeight(w: Json, where0: string): ManifestWeight {
  if (!isObject(w)) throw invalidArgument(`${where0} is not an object`);
  if (typeof w.name !== 'string') throw invalidArgument(`${where0}: name is not a string`);
  const where = `${where0} ('${w.name}')`;
  const manifestShape = parseShape(w.shape, where);
  const elements = countElements(manifestShape, where);
  const dtype = w.dtype;
  if (typeof dtype !== 'string') throw invalidArgument(`${where}: dtype is not a string`);
  if (dtype === 'string') {
    if (w.quantization !== undefined) throw invalidArgument(`${where}: a string weight cannot be quantized`);
    return { name: w.name, tfjsDtype: dtype, dtype: 'U8', shape: manifestShape, byteLength: undefined, elements };
  }
  if (!Object.hasOwn(PLAIN_DTYPES, dtype)) throw invalidArgument(`${where}: unknown dtype '${dtype}'`);
  const stored = w.quantization === undefined ? PLAIN_DTYPES[dtype] : quantizedDtype(w.quantization, dtype, where);
  const shape = dtype === 'complex64' ? [...manifestShape, 2] : manifestShape;
  const byteLength = countElements(shape, where) * DTYPE_BYTES[stored];
  if (!Number.isSafeInteger(byteLength)) throw invalidArgument(`${where}: shape is too large`);
  const quantization = w.quantization as TfjsQuantization | undefined;
  return { name: w.name, tfjsDtype: dtype, quantization, dtype: stored, shape, byteLength, elements };
}

function quantizedDtype(q: Json, dtype: string, where: string): DType {
  if (!isObject(q)) throw invalidArgument(`${where}: quantization is not an object`);
  const qd = q.dtype;
  if (typeof qd !== 'string' || !Object.hasOwn(QUANT_DTYPES, qd)) {
    throw invalidArgument(`${where}: unknown quantization dtype ${JSON.stringify(qd)}`);
  }
  if (dtype !== 'float32' && dtype !== 'int32') {
    throw invalidArgument(`${where}: a ${dtype} weight cannot be quantized`);
  }
  if (qd === 'float16') {
    if (dtype !== 'float32') throw invalidArgument(`${where}: float16 quantization of a ${dtype} weight`);
    return 'F16';
  }
  for (const key of ['scale', 'min'] as const) {
    const v = q[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw invalidArgument(`${where}: ${qd} quantization needs a finite '${key}', got ${JSON.stringify(v)}`);
    }
  }
  return QUANT_DTYPES[qd];
}
