/**
 * A stored TF.js model, ready to run: its model.json and weight shards are rebuilt in memory and handed to
 * `@tensorflow/tfjs` (graph models through `loadGraphModel`, layers models through `loadLayersModel`), with
 * no file written. TF.js is imported on first use, so faces that never run models do not pay for it.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { invalidArgument, notSupported } from '../errors.js';
import { memoryModelSink } from '../formats/memory-model-source.js';
import type { StoredModel } from '../formats/model-format.js';
import { tfjsFormat } from '../formats/tfjs/tfjs-format.js';

interface ManifestGroup {
  readonly paths: readonly string[];
  readonly weights: tfTypes.io.WeightsManifestEntry[];
}

export type TfjsModel = tfTypes.GraphModel | tfTypes.LayersModel;

/** Loads `model` (a stored TF.js model; `name` is used in errors) into TF.js. */
export async function tfjsModelOf(name: string, model: StoredModel): Promise<TfjsModel> {
  const sink = memoryModelSink();
  await tfjsFormat.write(model, sink);
  const [jsonFile] = sink.files.keys();
  let json: { modelTopology?: unknown; weightsManifest?: ManifestGroup[]; format?: string; [k: string]: unknown };
  try {
    json = JSON.parse(Buffer.from(sink.files.get(jsonFile!)!).toString('utf8'));
  } catch (e) {
    throw invalidArgument(`model '${name}': its model.json does not parse: ${(e as Error).message}`);
  }
  const groups = Array.isArray(json) ? null : json.weightsManifest;
  if (!json.modelTopology || !groups) {
    throw notSupported(`model '${name}' is a bare TF.js weights manifest (no topology to run): read its tensors with store.load`);
  }
  const shards: Uint8Array[] = [];
  for (const g of groups) {
    for (const p of g.paths) {
      const bytes = sink.files.get(p) ?? sink.files.get(p.replace(/^\.\//, ''));
      if (!bytes) throw invalidArgument(`model '${name}': shard '${p}' was not rebuilt`);
      shards.push(bytes);
    }
  }
  const data = Buffer.concat(shards);
  const { weightsManifest: _, ...rest } = json;
  const artifacts = {
    ...rest,
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length),
  } as tfTypes.io.ModelArtifacts;
  const tf = await import('@tensorflow/tfjs');
  await skipTfjsNodeAdvice(tf);
  const layers = json.format === 'layers-model' || (json.modelTopology as { class_name?: string }).class_name !== undefined;
  return layers ? tf.loadLayersModel(tf.io.fromMemory(artifacts)) : tf.loadGraphModel(tf.io.fromMemory(artifacts));
}

/**
 * TF.js's CPU backend prints, on its first tensor in Node.js, a banner advising to install `@tensorflow/tfjs-node`
 * (a native backend this store does not use; its binary download is not an npm package). Marking the active
 * backend as used already skips that one message; every other TF.js warning still prints.
 */
async function skipTfjsNodeAdvice(tf: typeof tfTypes): Promise<void> {
  await tf.ready();
  const backend = tf.backend() as { firstUse?: unknown };
  if (typeof backend.firstUse === 'boolean') backend.firstUse = false;
}
