/**
 * A model set read into memory once, so every baseline times only its own work and sees the same bytes: each
 * model's files as they are on disk, its tensors as the store's format readers give them, and its non-tensor
 * bytes (the files with the tensors' byte ranges cut out), which is what the architecture costs a method that
 * does not understand the format.
 */
import { readFile } from 'node:fs/promises';
import { NodeEnv } from '../../src/env/node-env.js';
import { openModelSource } from '../../src/store/model-files.js';
import { detectFormat } from '../../src/store/format-registry.js';
import type { DType } from '../../src/formats/dtype.js';
import type { ModelSet } from '../model-sets.js';

/** One tensor's bytes, as the format reader returned them (little-endian, row-major). */
export interface LoadedTensor {
  name: string;
  dtype: DType;
  bytes: Uint8Array;
}

export interface LoadedModel {
  name: string;
  /** Every file of the model, in the order the model set lists them. */
  files: Array<{ path: string; bytes: Uint8Array }>;
  tensors: LoadedTensor[];
  /** The files' bytes outside every located tensor range, concatenated in file order. */
  nonTensor: Uint8Array;
  /** Tensors whose bytes were not found verbatim in the files (their bytes then stay in `nonTensor`). */
  unlocatedTensors: number;
}

export interface LoadedSet {
  label: string;
  models: LoadedModel[];
}

/** What a baseline keeps on disk for a whole set, and the wall time it took to compute it. */
export interface BaselineResult {
  bytes: number;
  seconds: number;
}

/** Sum of the sizes of every file of every model: the denominator-free "original" of a set. */
export function originalBytes(set: LoadedSet): number {
  let n = 0;
  for (const m of set.models) for (const f of m.files) n += f.bytes.length;
  return n;
}

/** Runs `work` and returns its result with the wall seconds it took (benchmarks only; tests never assert time). */
export function timed<T>(work: () => T): { value: T; seconds: number } {
  const t0 = process.hrtime.bigint();
  const value = work();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/**
 * Cuts each tensor's bytes out of the concatenated files. Tensors are searched forward from the previous hit
 * (formats store them in order), then anywhere not yet claimed; a tensor found nowhere is counted, not guessed.
 * A tiny tensor (an 8-byte scalar) may match earlier equal bytes; that moves a few bytes, never the totals.
 */
export function cutTensors(files: readonly Uint8Array[], tensors: readonly Uint8Array[]): { nonTensor: Uint8Array; unlocated: number } {
  const all = Buffer.concat(files.map((f) => Buffer.from(f.buffer, f.byteOffset, f.length)));
  const claimed = new Uint8Array(all.length);
  let cursor = 0;
  let unlocated = 0;
  for (const t of tensors) {
    if (t.length === 0) continue;
    let at = all.indexOf(t, cursor);
    if (at < 0) at = firstUnclaimed(all, claimed, t);
    if (at < 0) {
      unlocated++;
      continue;
    }
    claimed.fill(1, at, at + t.length);
    cursor = at + t.length;
  }
  let kept = 0;
  for (let i = 0; i < all.length; i++) if (claimed[i] === 0) all[kept++] = all[i]!;
  return { nonTensor: new Uint8Array(all.buffer, all.byteOffset, kept), unlocated };
}

function firstUnclaimed(all: Buffer, claimed: Uint8Array, t: Uint8Array): number {
  for (let at = all.indexOf(t); at >= 0; at = all.indexOf(t, at + 1)) {
    if (claimed.subarray(at, at + t.length).every((c) => c === 0)) return at;
  }
  return -1;
}

/** Reads every file and tensor of the set. Errors of the format readers (INVALID_ARGUMENT, NOT_FOUND) pass through. */
export async function loadModelSet(set: ModelSet): Promise<LoadedSet> {
  const env = new NodeEnv();
  const models: LoadedModel[] = [];
  for (const m of set.models) {
    const files = await Promise.all(m.files.map(async (path) => ({ path, bytes: new Uint8Array(await readFile(path)) })));
    const source = await openModelSource(env, m.path);
    try {
      const layout = await (await detectFormat(source)).read(source);
      const tensors: LoadedTensor[] = [];
      for (const t of layout.tensors) tensors.push({ name: t.name, dtype: t.dtype, bytes: await t.read() });
      const cut = cutTensors(files.map((f) => f.bytes), tensors.map((t) => t.bytes));
      models.push({ name: m.name, files, tensors, nonTensor: cut.nonTensor, unlocatedTensors: cut.unlocated });
    } finally {
      await source.close();
    }
  }
  return { label: set.label, models };
}
