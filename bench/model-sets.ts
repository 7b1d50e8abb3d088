/**
 * The real model sets every compression benchmark runs over, so the store's columns and the baselines'
 * columns are always measured on the same bytes: the MNIST family, two related face pairs (face-api landmark
 * -> expression, human-models faceres -> faceres-deep), the whole human-models set and the three Silero VAD
 * versions. Each model lists every file it owns (a TF.js manifest and the shards its `paths` name), because
 * file-level baselines (zstd, chunk dedup) must see exactly the bytes a user would keep on disk.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { invalidArgument } from '../src/errors.js';
import { FIXTURES_DIR, SHARED_MNIST_DIR } from '../scripts/fetch-fixtures.js';

/** One model: `path` is what `openModelSource` opens; `files` is every file of the model, `path` first. */
export interface BenchModel {
  name: string;
  path: string;
  files: string[];
}

/** A named group of models compressed together (dedup and deltas may work across its models). */
export interface ModelSet {
  label: string;
  models: BenchModel[];
}

const HUMAN = join(FIXTURES_DIR, 'human-models');
const FACE_API = join(FIXTURES_DIR, 'face-api');
const VAD = join(FIXTURES_DIR, 'vad-web');
const MNIST_FAMILY_SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'mnist-family.ts');

/**
 * The files of a TF.js model: its JSON plus every shard named in the manifest's `paths`, resolved beside it.
 * Accepts both layouts: a `model.json` with `weightsManifest`, and face-api's bare manifest array.
 * INVALID_ARGUMENT when the JSON has neither.
 */
export function tfjsFiles(jsonPath: string): string[] {
  const doc: unknown = JSON.parse(readFileSync(jsonPath, 'utf8'));
  const groups = Array.isArray(doc) ? doc : (doc as { weightsManifest?: unknown }).weightsManifest;
  if (!Array.isArray(groups)) throw invalidArgument(`${jsonPath}: no weights manifest (neither an array nor 'weightsManifest')`);
  const shards = groups.flatMap((g: { paths?: unknown }) => (Array.isArray(g.paths) ? (g.paths as string[]) : []));
  return [jsonPath, ...shards.map((p) => join(dirname(jsonPath), p))];
}

function tfjsModel(name: string, jsonPath: string): BenchModel {
  return { name, path: jsonPath, files: tfjsFiles(jsonPath) };
}

function singleFile(name: string, path: string): BenchModel {
  return { name, path, files: [path] };
}

function humanModel(stem: string): BenchModel {
  return tfjsModel(stem, join(HUMAN, `${stem}.json`));
}

function faceApiModel(stem: string): BenchModel {
  return tfjsModel(`face-api/${stem}`, join(FACE_API, `${stem}-weights_manifest.json`));
}

/** Every set that comes from the fixture cache (call `ensureFixtures()` first). MNIST is added by `modelSets`. */
export function fixtureModelSets(): ModelSet[] {
  const human = readdirSync(HUMAN).filter((f) => f.endsWith('.json')).sort();
  return [
    { label: 'face-api landmark_68 -> expression', models: [faceApiModel('face_landmark_68_model'), faceApiModel('face_expression_model')] },
    { label: 'human-models faceres -> faceres-deep', models: [humanModel('faceres'), humanModel('faceres-deep')] },
    { label: `human-models (all ${human.length})`, models: human.map((f) => humanModel(f.replace(/\.json$/, ''))) },
    {
      label: 'Silero VAD v4/v5/v6',
      models: [
        singleFile('silero-v4', join(VAD, 'silero_vad_legacy.onnx')),
        singleFile('silero-v5', join(VAD, 'silero_vad_v5.onnx')),
        singleFile('silero-v6', join(VAD, 'silero_vad_v6.onnx')),
      ],
    },
  ];
}

/** The three independent tinygrad checkpoints, read in place: the fallback when no MNIST family script exists. */
export function mnistCheckpointSet(): ModelSet {
  const files = readdirSync(SHARED_MNIST_DIR).filter((f) => f.endsWith('.safetensors')).sort();
  return {
    label: 'MNIST tinygrad checkpoints (3 unrelated; family script missing)',
    models: files.map((f) => singleFile(f.replace(/\.safetensors$/, ''), join(SHARED_MNIST_DIR, f))),
  };
}

/**
 * The MNIST family from `ensureMnistFamily()` in scripts/mnist-family.ts (base first), imported lazily so this
 * module loads without it; falls back to `mnistCheckpointSet()` while that script does not exist.
 */
export async function mnistFamilySet(log: (s: string) => void = () => {}): Promise<ModelSet> {
  if (!existsSync(MNIST_FAMILY_SCRIPT)) return mnistCheckpointSet();
  // A computed specifier keeps the type checker from requiring the module while it is being written.
  const specifier = '../scripts/mnist-family.js';
  const mod = (await import(specifier)) as { ensureMnistFamily?: (log: (s: string) => void) => Promise<string[]> };
  if (typeof mod.ensureMnistFamily !== 'function') return mnistCheckpointSet();
  const paths = await mod.ensureMnistFamily(log);
  const models = paths.map((p) => singleFile(`mnist/${p.slice(p.lastIndexOf('/') + 1).replace(/\.safetensors$/, '')}`, p));
  return { label: `MNIST family (base + ${paths.length - 1} fine-tunes)`, models };
}

/** All benchmark sets, MNIST first; `log` hears about MNIST training when the family cache is cold. */
export async function modelSets(log: (s: string) => void = () => {}): Promise<ModelSet[]> {
  return [await mnistFamilySet(log), ...fixtureModelSets()];
}
