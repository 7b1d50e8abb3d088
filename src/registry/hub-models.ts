/**
 * Model files of a repository, kept in the tensor store. A model is found by content (the store's format
 * detection: safetensors, ONNX, TF.js model.json, GGUF) together with the files it references (TF.js weight
 * shards, ONNX external data), put through `NeurStore.put` (dedup, compression mode), and its member files are
 * written back by the format from the tensors `NeurStore.load` streams in `exact` mode: a member file is
 * streamed to its reader as the tensors decode, never spooled whole.
 *
 * The store's API has no call that hands out a model's architecture bytes or streams its files, so the
 * registry keeps the architecture (read by the format at push) as a blob of its own, and rebuilds the files
 * with the format's writer over `load`. Store model names are content-derived: `hub/<sha256>/<mode>`, so the
 * same files pushed in the same mode are one model.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { posix } from 'node:path';
import { NeurStoreError, isNeurStoreError } from '../errors.js';
import type { NeurStore } from '../store/neur-store.js';
import { detectFormat, formatByName } from '../store/format-registry.js';
import { openModelSource } from '../store/model-files.js';
import { NodeEnv } from '../env/node-env.js';
import type { ByteSink } from '../formats/byte-source.js';
import type { ModelLayout, ModelSource } from '../formats/model-format.js';
import type { Mode } from '../store/store-types.js';
import { IdentityHasher, type ByteRange, type FileIdentity } from './durable-files.js';
import { modeKey, type HubModelRow, type ModelMember } from './registry-db.js';

/** A model found in a directory: its main file, the other files it reads (repository paths), its layout. */
export interface FoundModel {
  main: string;
  companions: string[];
  layout: ModelLayout;
}

/**
 * Reads `main` (a repository path under `root`) as a model if its content is one. Undefined when it is not a
 * model or the format cannot read it (then it is kept as a plain blob, as a hub keeps any file).
 */
export async function findModel(root: string, main: string): Promise<FoundModel | undefined> {
  const env = new NodeEnv();
  const source = await openModelSource(env, posix.join(root, main));
  const opened = new Set<string>();
  const recording: ModelSource = {
    files: source.files,
    open: (name) => {
      opened.add(name);
      return source.open(name);
    },
  };
  try {
    let format;
    try {
      format = await detectFormat(recording);
    } catch (e) {
      if (isNeurStoreError(e, 'INVALID_ARGUMENT')) return undefined;
      throw e;
    }
    opened.clear();
    const layout = await format.read(recording).catch((e: unknown) => {
      if (isNeurStoreError(e, 'INVALID_ARGUMENT') || isNeurStoreError(e, 'NOT_FOUND')) return undefined;
      throw e;
    });
    if (!layout) return undefined;
    const dir = posix.dirname(main);
    const base = posix.basename(main);
    const companions = [...opened].filter((n) => n !== base).map((n) => posix.normalize(posix.join(dir, n)));
    if (companions.some((c) => c.startsWith('../') || c === '..')) return undefined;
    return { main, companions, layout };
  } finally {
    await source.close();
  }
}

/** The store name of a model: its files' content and the mode it is stored in. */
export function hubModelName(identities: readonly FileIdentity[], mode: Mode, tolerance: number): string {
  const h = createHash('sha256');
  for (const id of identities) h.update(`${id.sha256}:${id.size};`);
  return `hub/${h.digest('hex')}/${modeKey(mode, tolerance)}`;
}

/** Raised inside a format's writer to stop it once the bytes asked for are out (or the reader went away). */
class StopWriting extends Error {}

/**
 * Runs the model's format writer over its tensors as `store.load` streams them (exact mode) and hands every
 * member file's bytes to `sinkFor(index, name)` (null: that member's bytes are dropped). A sink may throw
 * `StopWriting` to end early. Tensors come in index order; a writer that asks out of order is served from a
 * small buffer of the ones already loaded.
 */
async function writeMembers(store: NeurStore, model: HubModelRow, architecture: Uint8Array, sinkFor: (index: number, name: string) => ByteSink | null): Promise<void> {
  const format = formatByName(model.format);
  const tensors = store.load(model.name, { mode: 'exact' });
  const early = new Map<number, Uint8Array>();
  const tensorBytes = async (i: number): Promise<Uint8Array> => {
    for (;;) {
      const hit = early.get(i);
      if (hit) {
        early.delete(i);
        return hit;
      }
      const next = await tensors.next();
      if (next.done) throw new NeurStoreError('CORRUPTION', `model ${model.name} has no tensor number ${i}`);
      const t = next.value;
      if (t.form !== 'bytes') throw new NeurStoreError('CORRUPTION', `exact load of ${model.name} gave a ${t.form} tensor`);
      early.set(t.index, t.bytes);
    }
  };
  let index = 0;
  const drop: ByteSink = { write: async () => {} };
  try {
    await format.write({ architecture, tensorBytes }, {
      create: async (name) => {
        const sink = sinkFor(index++, name) ?? drop;
        return { write: (chunk) => sink.write(chunk), close: async () => {} };
      },
    });
  } catch (e) {
    if (!(e instanceof StopWriting)) throw e;
  } finally {
    await tensors.return(undefined);
  }
}

/** Every member file's name and identity, from the bytes the store gives back (what will be served). */
export async function memberIdentities(store: NeurStore, model: HubModelRow, architecture: Uint8Array, sizes: ReadonlyMap<string, number>): Promise<ModelMember[]> {
  const out: Array<{ name: string; hasher: IdentityHasher; bytes: number }> = [];
  await writeMembers(store, model, architecture, (index, name) => {
    const size = index === 0 ? sizes.get('') : sizes.get(name);
    if (size === undefined) throw new NeurStoreError('CORRUPTION', `model ${model.name} writes a file '${name}' it was not put with`);
    const entry = { name, hasher: new IdentityHasher(size), bytes: 0 };
    out.push(entry);
    return { write: async (chunk) => entry.hasher.update(chunk) };
  });
  return out.map((e) => ({ member: e.name, ...e.hasher.digest() }));
}

/**
 * Member `member` of a stored model as a stream of its bytes (or of bytes [start, end]), produced as the
 * tensors decode. Stops decoding when the range is out or the reader destroys the stream.
 */
export function memberStream(store: NeurStore, model: HubModelRow, architecture: Uint8Array, member: string, range?: ByteRange): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const target = model.members.findIndex((m) => m.member === member);
  const start = range?.start ?? 0;
  const end = range?.end ?? (model.members[target]?.size ?? 0) - 1;
  let at = 0;
  const sink: ByteSink = {
    async write(chunk) {
      if (out.destroyed) throw new StopWriting();
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      if (to > from && !out.write(Buffer.from(chunk.subarray(from, to)))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            out.off('drain', done);
            out.off('close', done);
            resolve();
          };
          out.on('drain', done);
          out.on('close', done);
        });
      }
      if (at > end) throw new StopWriting();
    },
  };
  void writeMembers(store, model, architecture, (index) => (index === target ? sink : null)).then(
    () => out.end(),
    (e: unknown) => out.destroy(e as Error),
  );
  return out;
}
