/**
 * Reads an ONNX model into a `ModelLayout`: finds the .onnx file by content, scans it for tensor payloads,
 * resolves external data against the other files of the source, and builds the architecture (see
 * `onnx-architecture.ts`). Tensor bytes are not loaded; each `TensorEntry.read()` fetches one range.
 */
import { NeurStoreError, invalidArgument } from '../../errors.js';
import type { ByteSource } from '../byte-source.js';
import type { ModelLayout, ModelSource, TensorEntry } from '../model-format.js';
import type { Cut, ExternalFile, Span } from './onnx-architecture.js';
import { encodeOnnxArchitecture } from './onnx-architecture.js';
import { storeShape } from './onnx-dtype.js';
import type { FoundTensor } from './onnx-scan.js';
import { scanOnnxModel } from './onnx-scan.js';
import { findModelFile } from './onnx-detect.js';

/** Reads the model; INVALID_ARGUMENT naming the problem when any file is malformed or missing. */
export async function readOnnx(source: ModelSource): Promise<ModelLayout> {
  const main = await findModelFile(source);
  if (main === null) return explainNotModel(source);
  const src = await source.open(main);
  const buf = await src.read(0, src.size);
  const scan = scanOnnxModel(buf);
  const names = uniqueNames(scan.tensors.map((t) => t.name));
  const cuts: Cut[] = [];
  const entries: TensorEntry[] = [];
  const byFile = new Map<string, Span[]>();
  const opened = new Map<string, ByteSource>([[main, src]]);
  for (const [i, t] of scan.tensors.entries()) {
    const loc = t.location;
    if (loc.kind === 'inline') {
      cuts.push([loc.start, loc.end, i]);
      entries.push(entry(names[i]!, t, src, loc.start));
      continue;
    }
    const file = normalizeLocation(loc.file, names[i]!, source, main);
    const ext = opened.get(file) ?? (await openExternal(source, file, names[i]!, loc.file));
    opened.set(file, ext);
    const length = loc.length ?? t.byteLength;
    if (length !== t.byteLength) {
      throw invalidArgument(`tensor '${names[i]}' has external length ${length}, but its shape needs ${t.byteLength} bytes`);
    }
    if (loc.offset + length > ext.size) {
      throw invalidArgument(`tensor '${names[i]}' reads ${length} bytes at ${loc.offset} past the end of '${file}' (${ext.size} bytes)`);
    }
    const spans = byFile.get(file) ?? [];
    spans.push([loc.offset, length, i]);
    byFile.set(file, spans);
    entries.push(entry(names[i]!, t, ext, loc.offset));
  }
  const { externals, gaps } = await externalLayout(byFile, opened);
  const skeleton = cutOut(buf, cuts);
  const architecture = encodeOnnxArchitecture({ main, size: buf.length, cuts, externals }, skeleton, gaps);
  return { format: 'onnx', architecture, tensors: entries };
}

/** Names what is wrong with the likeliest model file (the `.onnx` one, or the only one); always throws. */
async function explainNotModel(source: ModelSource): Promise<never> {
  const file = source.files.find((f) => f.endsWith('.onnx')) ?? (source.files.length === 1 ? source.files[0] : undefined);
  if (file === undefined) throw invalidArgument('no file of the model is an ONNX ModelProto');
  const src = await source.open(file);
  scanOnnxModel(await src.read(0, src.size));
  throw invalidArgument(`'${file}' is not an ONNX ModelProto (it needs ir_version and graph fields and no others of wrong type)`);
}

function entry(name: string, t: FoundTensor, src: ByteSource, offset: number): TensorEntry {
  return {
    name,
    dtype: t.info.dtype,
    shape: storeShape(t.info, t.dims, t.byteLength),
    byteLength: t.byteLength,
    read: () => src.read(offset, t.byteLength),
    readRange: (at: number, length: number) => src.read(offset + at, length),
  };
}

/** Makes names unique by suffixing repeats `#2`, `#3`... (two subgraphs may both call a tensor `x`). */
function uniqueNames(names: readonly string[]): string[] {
  const seen = new Set(names);
  const used = new Set<string>();
  return names.map((n) => {
    let name = n;
    for (let k = 2; used.has(name); k++) {
      do name = `${n}#${k++}`; while (seen.has(name) || used.has(name));
    }
    used.add(name);
    return name;
  });
}

/**
 * The file names an external `location` may denote: relative to the source's root or to the .onnx file's
 * folder. Null when it escapes the model's folder (absolute, drive letter, `..`), which is refused.
 */
export function locationCandidates(location: string, main: string): string[] | null {
  const parts = location.replace(/\\/g, '/').split('/').filter((p) => p !== '' && p !== '.');
  if (location.startsWith('/') || /^[A-Za-z]:/.test(location) || parts.includes('..') || parts.length === 0) return null;
  const dir = main.includes('/') ? main.slice(0, main.lastIndexOf('/') + 1) : '';
  return [parts.join('/'), dir + parts.join('/')];
}

function normalizeLocation(location: string, tensor: string, source: ModelSource, main: string): string {
  const candidates = locationCandidates(location, main);
  if (candidates === null) {
    throw invalidArgument(`tensor '${tensor}' has external data location '${location}' outside the model's folder`);
  }
  // A listed file wins; otherwise the source may still open it beside the model file (see ModelSource).
  const file = candidates.find((c) => source.files.includes(c)) ?? candidates[candidates.length - 1]!;
  if (file === main) throw invalidArgument(`tensor '${tensor}' has external data in the model file '${main}' itself`);
  return file;
}

async function openExternal(source: ModelSource, file: string, tensor: string, location: string): Promise<ByteSource> {
  try {
    return await source.open(file);
  } catch (e) {
    if (e instanceof NeurStoreError && e.code === 'NOT_FOUND') {
      throw invalidArgument(`tensor '${tensor}' needs external data file '${location}', which the model does not have`, e);
    }
    throw e;
  }
}

async function externalLayout(byFile: Map<string, Span[]>, opened: Map<string, ByteSource>):
  Promise<{ externals: ExternalFile[]; gaps: Uint8Array }> {
  const externals: ExternalFile[] = [];
  const gaps: Uint8Array[] = [];
  for (const [file, raw] of byFile) {
    const spans = [...raw].sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    const src = opened.get(file)!;
    let at = 0;
    let prev: Span | null = null;
    for (const s of spans) {
      if (prev && prev[0] === s[0] && prev[1] === s[1]) continue;
      if (s[0] < at) throw invalidArgument(`external data of tensors ${prev![2]} and ${s[2]} overlap in '${file}'`);
      if (s[0] > at) gaps.push(await src.read(at, s[0] - at));
      at = s[0] + s[1];
      prev = s;
    }
    if (src.size > at) gaps.push(await src.read(at, src.size - at));
    externals.push({ file, size: src.size, spans });
  }
  return { externals, gaps: Buffer.concat(gaps) };
}

function cutOut(buf: Uint8Array, cuts: readonly Cut[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const [start, end] of cuts) {
    if (start < at) throw invalidArgument(`tensor payloads overlap at byte ${start}`);
    parts.push(buf.subarray(at, start));
    at = end;
  }
  parts.push(buf.subarray(at));
  return Buffer.concat(parts);
}
