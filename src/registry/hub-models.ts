/**
 * Model files of a repository, kept in the tensor store. A model is found by content (the store's format
 * detection: safetensors, ONNX, TF.js model.json, GGUF) together with the files it references (TF.js weight
 * shards, ONNX external data), put through `NeurStore.put` (dedup, compression mode), and its member files are
 * written back by `NeurStore.write` into a sink: a member file is streamed to its reader as the tensors decode
 * (large tensors chunk by chunk), never spooled whole.
 *
 * The registry also keeps each model's architecture (read by the format at push) as a blob of its own, which
 * model rows name; files are rebuilt by the store, not from that blob. Store model names are content-derived:
 * `hub/<sha256>/<mode>`, so the same files pushed in the same mode are one model.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { posix } from 'node:path';
import { NeurStoreError, isNeurStoreError } from '../errors.js';
import type { NeurStore } from '../store/neur-store.js';
import { detectFormat } from '../store/format-registry.js';
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

/**
 * True when `main`'s content is in a model format (detection only: the files it references need not be there).
 * A commit materializes a parent's sibling files only for such a file (a TF.js model.json changed alone).
 */
export async function detectsAsModel(root: string, main: string): Promise<boolean> {
  const source = await openModelSource(new NodeEnv(), posix.join(root, main));
  try {
    await detectFormat(source);
    return true;
  } catch (e) {
    if (isNeurStoreError(e, 'INVALID_ARGUMENT') || isNeurStoreError(e, 'NOT_FOUND')) return false;
    throw e;
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
 * Writes the model's files through `NeurStore.write` and hands every member file's bytes to
 * `sinkFor(index, name)` (null: that member's bytes are dropped). A sink may throw `StopWriting` to end early;
 * `signal` stops the write between tensors (the reader went away).
 */
async function writeMembers(store: NeurStore, model: HubModelRow, sinkFor: (index: number, name: string) => ByteSink | null, signal?: AbortSignal): Promise<void> {
  let index = 0;
  const drop: ByteSink = { write: async () => {}, releasesBytes: true };
  try {
    await store.write(model.name, {
      create: async (name) => {
        const sink = sinkFor(index++, name) ?? drop;
        return { write: (chunk) => sink.write(chunk), close: async () => {}, releasesBytes: sink.releasesBytes };
      },
    }, { signal });
  } catch (e) {
    if (!(e instanceof StopWriting) && !(signal?.aborted && isNeurStoreError(e, 'CANCELLED'))) throw e;
  }
}

/** Every member file's name and identity, from the bytes the store gives back (what will be served). */
export async function memberIdentities(store: NeurStore, model: HubModelRow, sizes: ReadonlyMap<string, number>): Promise<ModelMember[]> {
  const out: Array<{ name: string; hasher: IdentityHasher; bytes: number }> = [];
  await writeMembers(store, model, (index, name) => {
    const size = index === 0 ? sizes.get('') : sizes.get(name);
    if (size === undefined) throw new NeurStoreError('CORRUPTION', `model ${model.name} writes a file '${name}' it was not put with`);
    const entry = { name, hasher: new IdentityHasher(size), bytes: 0 };
    out.push(entry);
    return { write: async (chunk) => entry.hasher.update(chunk), releasesBytes: true };
  });
  return out.map((e) => ({ member: e.name, ...e.hasher.digest() }));
}

/**
 * Writes member `member` of a stored model (or bytes [start, end] of it) to `out`, as the tensors decode: `out`
 * gets views of the store's chunks (no copy; it must be done with a chunk, or copy it, before its promise
 * settles, since the store may reuse the memory after). Decoding stops once the range is out, or when `signal`
 * aborts (then it resolves, not throws). `out` may throw to stop.
 */
export async function writeMember(store: NeurStore, model: HubModelRow, member: string, range: ByteRange | undefined,
  out: (chunk: Uint8Array) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const target = model.members.findIndex((m) => m.member === member);
  const start = range?.start ?? 0;
  const end = range?.end ?? (model.members[target]?.size ?? 0) - 1;
  let at = 0;
  const sink: ByteSink = {
    releasesBytes: true, // `out` is done with a chunk once its promise settles (see above)
    async write(chunk) {
      if (signal?.aborted) throw new StopWriting();
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      if (to > from) await out(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
      if (at > end) throw new StopWriting();
    },
  };
  await writeMembers(store, model, (index) => (index === target ? sink : null), signal);
}

/**
 * Member `member` of a stored model as a stream of its bytes (or of bytes [start, end]), produced as the
 * tensors decode (each chunk copied: a stream's reader may hold it). Stops decoding when the range is out or the
 * reader destroys the stream.
 */
export function memberStream(store: NeurStore, model: HubModelRow, member: string, range?: ByteRange): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  // A reader that goes away stops the decoding too, even while other members (dropped) are being written.
  const stop = new AbortController();
  out.once('close', () => stop.abort());
  void writeMember(store, model, member, range, async (chunk) => {
    if (out.destroyed) throw new StopWriting();
    if (!out.write(Buffer.from(chunk))) {
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
  }, stop.signal).then(
    () => out.end(),
    (e: unknown) => out.destroy(e as Error),
  );
  return out;
}
