/**
 * Sharded safetensors checkpoints, as Hugging Face writes models over a few GB: an index JSON
 * (`model.safetensors.index.json`: `{"metadata": {...}, "weight_map": {tensor name: shard file}}`) and the shard
 * files it names (`model-00001-of-00003.safetensors`, ...), each an ordinary safetensors file. Read as one model:
 * the shards' tensors in shard order (shard names sorted), each shard's in its data order; the index and every
 * shard header are kept verbatim in the architecture (version 2, safetensors-architecture.ts), so the index and
 * every shard come back byte for byte.
 *
 * The index must agree with the shards: every tensor it names is in the shard it names, and every shard tensor
 * is named (a loader reading by the index would otherwise miss it or fail), so a checkpoint with a shard from
 * another export is refused, naming the tensor.
 */
import { invalidArgument, isNeurStoreError, notFound } from '../../errors.js';
import type { ModelSource, TensorEntry } from '../model-format.js';
import { encodeShardedArchitecture } from './safetensors-architecture.js';
import { readSafetensors } from './safetensors-reader.js';

/** How an index file's name ends (`model.safetensors.index.json`, `diffusion_pytorch_model.safetensors.index.json`). */
export const INDEX_SUFFIX = '.safetensors.index.json';

/** An index is a few KB to a few MB (one line per tensor); anything far larger is not one. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

export function isIndexName(name: string): boolean {
  return name.endsWith(INDEX_SUFFIX);
}

/** The index's weight map (tensor name -> shard file), checked: INVALID_ARGUMENT naming what is wrong. */
export function parseShardIndex(bytes: Uint8Array, indexName: string): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw invalidArgument(`${indexName}: not a JSON index of a sharded checkpoint (${(e as Error).message})`, e);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw invalidArgument(`${indexName}: a sharded checkpoint's index holds an object "weight_map" (tensor name -> shard file); this one does not`);
  }
  const out = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard.length === 0) throw invalidArgument(`${indexName}: weight_map gives tensor '${tensor}' no shard file name`);
    if (shard.startsWith('/') || shard.split('/').includes('..') || shard.includes('\0')) {
      throw invalidArgument(`${indexName}: shard '${shard}' (of tensor '${tensor}') is not a file beside the index`);
    }
    out.set(tensor, shard);
  }
  if (out.size === 0) throw invalidArgument(`${indexName}: weight_map names no tensors`);
  return out;
}

/**
 * Reads the sharded checkpoint whose index is `indexName` (a file of `source`; shards are opened by the names
 * the index gives, beside it): its tensors and architecture. Reads the index and the shards' headers only.
 * NOT_FOUND naming a missing shard; INVALID_ARGUMENT for a malformed index or shard, or the two disagreeing.
 */
export async function readShardedSafetensors(source: ModelSource, indexName: string): Promise<{ architecture: Uint8Array; tensors: TensorEntry[] }> {
  const index = await source.open(indexName);
  if (index.size > MAX_INDEX_BYTES) throw invalidArgument(`${indexName}: ${index.size} bytes is too large for the index of a sharded checkpoint (at most ${MAX_INDEX_BYTES})`);
  const indexBytes = (await index.read(0, index.size)).slice();
  const weightMap = parseShardIndex(indexBytes, indexName);
  const shardNames = [...new Set(weightMap.values())].sort();
  const shards = [];
  const tensors: TensorEntry[] = [];
  let named = 0;
  for (const fileName of shardNames) {
    const bytes = await source.open(fileName).catch((e: unknown) => {
      throw isNeurStoreError(e, 'NOT_FOUND') ? notFound(`${indexName} names shard ${fileName}, which is not there: copy or download it beside the index`) : e;
    });
    const file = await readSafetensors(bytes).catch((e: unknown) => {
      throw isNeurStoreError(e, 'INVALID_ARGUMENT') ? invalidArgument(`shard ${fileName}: ${(e as Error).message}`, e) : e;
    });
    for (const t of file.tensors) {
      const mapped = weightMap.get(t.name);
      if (mapped !== fileName) {
        throw invalidArgument(mapped === undefined
          ? `shard ${fileName} holds tensor '${t.name}', which ${indexName} does not name: the index and the shards are of different exports`
          : `tensor '${t.name}' is in shard ${fileName}, but ${indexName} places it in ${mapped}: the index and the shards are of different exports`);
      }
      named++;
    }
    shards.push({ fileName, header: file.headerBytes });
    tensors.push(...file.tensors);
  }
  if (named !== weightMap.size) {
    const held = new Set(tensors.map((t) => t.name));
    const missing = [...weightMap].find(([t]) => !held.has(t))!;
    throw invalidArgument(`${indexName} places tensor '${missing[0]}' in shard ${missing[1]}, which does not hold it: the index and the shards are of different exports`);
  }
  return { architecture: encodeShardedArchitecture({ index: { fileName: indexName, bytes: indexBytes }, shards }), tensors };
}
