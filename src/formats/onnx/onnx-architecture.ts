/**
 * The architecture of an ONNX model as the store keeps it: the .onnx file with every tensor payload cut out,
 * the list of cuts, and for each external data file the tensor ranges in it plus the bytes between them
 * (alignment padding), so `write` can rebuild every file byte for byte.
 *
 * Grammar (all integers little-endian):
 *   architecture := magic "NSONNXA1" | u32 headerLength | header (UTF-8 JSON) | skeleton | gapBytes
 *   header       := { main, size, cuts: [[start, end, tensor]...], externals: [{ file, size, spans }...] }
 *   spans        := [[offset, length, tensor]...] sorted by offset; an identical range may repeat (shared data)
 *   skeleton     := the main file minus the cut ranges; gapBytes := each external file's uncovered bytes, in order
 */
import { invalidArgument } from '../../errors.js';

const MAGIC = 'NSONNXA1';

/** Byte range `[start, end)` of the main file that holds tensor number `tensor`. */
export type Cut = [start: number, end: number, tensor: number];
/** Byte range `[offset, offset + length)` of an external file that holds tensor number `tensor`. */
export type Span = [offset: number, length: number, tensor: number];

export interface ExternalFile {
  readonly file: string;
  readonly size: number;
  readonly spans: readonly Span[];
}

export interface OnnxArchitectureHeader {
  readonly main: string;
  readonly size: number;
  readonly cuts: readonly Cut[];
  readonly externals: readonly ExternalFile[];
}

/** A decoded architecture; `skeleton` and `gaps` are views into the architecture bytes. */
export interface OnnxArchitecture extends OnnxArchitectureHeader {
  readonly skeleton: Uint8Array;
  readonly gaps: Uint8Array;
}

/** Joins header, skeleton and gap bytes into one architecture blob. */
export function encodeOnnxArchitecture(header: OnnxArchitectureHeader, skeleton: Uint8Array, gaps: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(MAGIC.length + 4 + json.length + skeleton.length + gaps.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length, true);
  out.set(json, MAGIC.length + 4);
  out.set(skeleton, MAGIC.length + 4 + json.length);
  out.set(gaps, MAGIC.length + 4 + json.length + skeleton.length);
  return out;
}

/** Parses an architecture blob; INVALID_ARGUMENT when it is not one this module wrote or is inconsistent. */
export function decodeOnnxArchitecture(arch: Uint8Array): OnnxArchitecture {
  const magic = new TextDecoder().decode(arch.subarray(0, MAGIC.length));
  if (arch.length < MAGIC.length + 4 || magic !== MAGIC) throw invalidArgument('not an ONNX architecture (bad magic)');
  const headerLength = new DataView(arch.buffer, arch.byteOffset, arch.byteLength).getUint32(MAGIC.length, true);
  const bodyAt = MAGIC.length + 4 + headerLength;
  if (bodyAt > arch.length) throw invalidArgument('ONNX architecture header is truncated');
  let header: OnnxArchitectureHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(arch.subarray(MAGIC.length + 4, bodyAt))) as OnnxArchitectureHeader;
  } catch (e) {
    throw invalidArgument('ONNX architecture header is not valid JSON', e);
  }
  const skeletonLength = checkCuts(header);
  const gapLength = header.externals.reduce((n, x) => n + checkSpans(x), 0);
  if (bodyAt + skeletonLength + gapLength !== arch.length) {
    throw invalidArgument(`ONNX architecture has ${arch.length - bodyAt} body bytes, header describes ${skeletonLength + gapLength}`);
  }
  const skeleton = arch.subarray(bodyAt, bodyAt + skeletonLength);
  return { ...header, skeleton, gaps: arch.subarray(bodyAt + skeletonLength) };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Validates the cuts and returns the skeleton's length. */
function checkCuts(h: OnnxArchitectureHeader): number {
  if (typeof h !== 'object' || h === null || typeof h.main !== 'string' || !isCount(h.size)
    || !Array.isArray(h.cuts) || !Array.isArray(h.externals)) {
    throw invalidArgument('ONNX architecture header is malformed');
  }
  let at = 0;
  let cut = 0;
  for (const c of h.cuts) {
    if (!Array.isArray(c) || c.length !== 3 || !c.every(isCount) || c[0] < at || c[1] < c[0] || c[1] > h.size) {
      throw invalidArgument(`ONNX architecture has a bad cut ${JSON.stringify(c)}`);
    }
    cut += c[1] - c[0];
    at = c[1];
  }
  return h.size - cut;
}

/** Validates one external file's spans and returns its gap byte count. */
function checkSpans(x: ExternalFile): number {
  if (typeof x !== 'object' || x === null || typeof x.file !== 'string' || !isCount(x.size) || !Array.isArray(x.spans)) {
    throw invalidArgument('ONNX architecture has a malformed external file entry');
  }
  let at = 0;
  let covered = 0;
  let prev: Span | null = null;
  for (const s of x.spans) {
    if (!Array.isArray(s) || s.length !== 3 || !s.every(isCount) || s[0] + s[1] > x.size) {
      throw invalidArgument(`ONNX architecture has a bad span ${JSON.stringify(s)} in '${x.file}'`);
    }
    const repeat = prev !== null && prev[0] === s[0] && prev[1] === s[1];
    if (!repeat) {
      if (s[0] < at) throw invalidArgument(`ONNX architecture has overlapping spans in '${x.file}'`);
      covered += s[1];
      at = s[0] + s[1];
    }
    prev = s as Span;
  }
  return x.size - covered;
}
