/**
 * The TF.js model format: graph and layers models (`model.json` + weight shards) and bare weights
 * manifests (face-api's `X-weights_manifest.json`), detected by content. `write` gives back the JSON file
 * and every shard byte-identical to what `read` saw.
 */
import type { ModelFormat } from '../model-format.js';
import { hasTfjsJson } from './tfjs-json-finder.js';
import { readTfjs } from './tfjs-reader.js';
import { writeTfjs } from './tfjs-writer.js';

export const tfjsFormat: ModelFormat = {
  name: 'tfjs',
  detect: hasTfjsJson,
  read: readTfjs,
  write: writeTfjs,
};

export { readTfjs } from './tfjs-reader.js';
export { writeTfjs } from './tfjs-writer.js';
export { writeTfjsWeights, tfjsManifestEntry } from './tfjs-weights-writer.js';
export type { TfjsWeightSpec, TfjsManifestEntry, WriteTfjsWeightsOptions } from './tfjs-weights-writer.js';
export type { TfjsQuantization } from './tfjs-manifest.js';
export { tfjsWeightSpecs } from './tfjs-weight-specs.js';
export { decodeTfjsArchitecture, encodeTfjsArchitecture } from './tfjs-architecture.js';
export type { TfjsArchitecture, ArchEntry, ShardInfo } from './tfjs-architecture.js';
