/**
 * Writes any tensors as a TF.js model: one manifest group whose shards hold the tensors back to back, plus
 * either a bare weights manifest or, given a model topology, a model.json. This is the path conversions
 * into TF.js take; bytes go out verbatim, so only dtypes TF.js can hold without a change are accepted.
 */
import { invalidArgument, notSupported } from '../../errors.js';
import type { DType } from '../dtype.js';
import { elementCount, DTYPE_BYTES } from '../dtype.js';
import type { ModelSink } from '../model-format.js';
import type { ShardInfo } from './tfjs-architecture.js';
import type { TfjsQuantization } from './tfjs-manifest.js';
import { ShardStream } from './tfjs-writer.js';

/**
 * One tensor to write. `quantization` overrides the default for `U8`/`U16`/`F16` tensors (e.g. to keep an
 * affine-quantized weight's scale and min); `tfjsDtype` overrides the manifest dtype: 'float32' or 'int32'
 * for quantized tensors, 'complex64' for an F32 tensor whose last dimension holds (real, imaginary).
 */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly quantization?: TfjsQuantization;
  readonly tfjsDtype?: string;
}

export interface TfjsManifestEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
  readonly quantization?: TfjsQuantization;
}

export interface WriteTfjsWeightsOptions {
  /**
   * The model.json fields other than `weightsManifest` (modelTopology, format...). When given, the JSON
   * file is a model.json; otherwise it is a bare weights-manifest array.
   */
  readonly modelJson?: Readonly<Record<string, unknown>>;
  /** Name of the JSON file; defaults to `model.json` or `weights_manifest.json`. */
  readonly jsonFile?: string;
  /** Largest shard in bytes; default: everything in one shard. Shards are `group1-shardKofN.bin`. */
  readonly shardBytes?: number;
}

/** The manifest entry for a tensor; NOT_SUPPORTED for dtypes TF.js cannot hold verbatim. */
export function tfjsManifestEntry(spec: TfjsWeightSpec): TfjsManifestEntry {
  if (spec.tfjsDtype === 'complex64') return complexEntry(spec);
  const plain = PLAIN[spec.dtype];
  if (plain !== undefined) {
    if (spec.tfjsDtype !== undefined && spec.tfjsDtype !== plain) {
      throw invalidArgument(`tensor '${spec.name}': ${spec.dtype} bytes cannot be TF.js ${spec.tfjsDtype}`);
    }
    return { name: spec.name, shape: [...spec.shape], dtype: plain };
  }
  const qd = QUANTIZED[spec.dtype];
  if (qd === undefined) {
    throw notSupported(`TF.js cannot store ${spec.dtype} tensor '${spec.name}' without converting it`);
  }
  // Without explicit parameters uint codes are exact integers, so int32 keeps their values.
  const q = spec.quantization ?? (qd === 'float16' ? { dtype: qd } : { dtype: qd, scale: 1, min: 0 });
  if (q.dtype !== qd) throw invalidArgument(`tensor '${spec.name}': ${spec.dtype} bytes with ${q.dtype} quantization`);
  const dtype = spec.tfjsDtype ?? (spec.quantization === undefined && qd !== 'float16' ? 'int32' : 'float32');
  if (dtype !== 'float32' && (dtype !== 'int32' || qd === 'float16')) {
    throw invalidArgument(`tensor '${spec.name}': ${qd} codes cannot stand for TF.js ${dtype}`);
  }
  return { name: spec.name, shape: [...spec.shape], dtype, quantization: q };
}

const PLAIN: Partial<Record<DType, string>> = { F32: 'float32', I32: 'int32', BOOL: 'bool' };
const QUANTIZED: Partial<Record<DType, TfjsQuantization['dtype']>> = { F16: 'float16', U8: 'uint8', U16: 'uint16' };

function complexEntry(spec: TfjsWeightSpec): TfjsManifestEntry {
  if (spec.dtype !== 'F32' || spec.shape[spec.shape.length - 1] !== 2) {
    throw invalidArgument(`complex64 tensor '${spec.name}' must be F32 with a last dimension of 2`);
  }
  return { name: spec.name, shape: spec.shape.slice(0, -1), dtype: 'complex64' };
}

function shardPlan(total: number, shardBytes: number): ShardInfo[] {
  if (!(shardBytes > 0)) throw invalidArgument(`shardBytes must be positive, got ${shardBytes}`);
  const count = Math.max(1, Math.ceil(total / shardBytes));
  return Array.from({ length: count }, (_, i) => ({
    file: `group1-shard${i + 1}of${count}.bin`,
    size: Math.min(shardBytes, total - i * shardBytes),
  }));
}

/**
 * Writes `tensors` as a TF.js model through `sink`: the JSON file and shards of at most `shardBytes`.
 * `bytesOf(i)` gives tensor i's bytes (little-endian, exactly its size) and is called once per tensor, in
 * order. Returns the JSON value written. INVALID_ARGUMENT for a bad shape or wrong byte count,
 * NOT_SUPPORTED for dtypes TF.js cannot hold (I8, I64, F64, BF16...).
 */
export async function writeTfjsWeights(
  tensors: readonly TfjsWeightSpec[],
  bytesOf: (index: number) => Promise<Uint8Array>,
  sink: ModelSink,
  options: WriteTfjsWeightsOptions = {},
): Promise<unknown> {
  const entries = tensors.map(tfjsManifestEntry);
  const sizes = tensors.map((t) => elementCount(t.shape) * DTYPE_BYTES[t.dtype]);
  const shards = shardPlan(sizes.reduce((a, b) => a + b, 0), options.shardBytes ?? Number.MAX_SAFE_INTEGER);
  const manifest = [{ paths: shards.map((s) => s.file), weights: entries }];
  const json = options.modelJson === undefined ? manifest : { ...options.modelJson, weightsManifest: manifest };
  const jsonFile = options.jsonFile ?? (options.modelJson === undefined ? 'weights_manifest.json' : 'model.json');
  const out = await sink.create(jsonFile);
  await out.write(new TextEncoder().encode(JSON.stringify(json)));
  await out.close();
  const stream = new ShardStream(sink, shards);
  for (let i = 0; i < tensors.length; i++) {
    const bytes = await bytesOf(i);
    if (bytes.length !== sizes[i]) {
      throw invalidArgument(`tensor '${tensors[i].name}' has ${bytes.length} bytes, expected ${sizes[i]}`);
    }
    await stream.push(bytes);
  }
  await stream.finish();
  return json;
}
