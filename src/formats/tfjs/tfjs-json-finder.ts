/**
 * Finds the JSON file of a TF.js model among a source's files by content, not name: the model.json may be
 * called anything (`faceres.json`, `X-weights_manifest.json`). A file is a candidate when its first bytes look
 * like JSON text ('{' or '[' after optional BOM/whitespace, no binary control bytes); only candidates are
 * read whole, so weight shards are never loaded.
 */
import { invalidArgument, isNeurStoreError } from '../../errors.js';
import type { ModelSource } from '../model-format.js';
import type { TfjsJsonKind } from './tfjs-manifest.js';
import { parseJsonBytes, tfjsJsonKind } from './tfjs-manifest.js';

/** JSON files larger than this are not considered (a model.json is kilobytes to a few megabytes). */
export const MAX_TFJS_JSON_BYTES = 256 * 1024 * 1024;
const SNIFF_BYTES = 512;

export interface FoundJson {
  readonly file: string;
  readonly bytes: Uint8Array;
  readonly json: unknown;
  readonly kind: TfjsJsonKind;
}

/** True when `head` could start a JSON object or array written as text. */
function looksLikeJsonText(head: Uint8Array): boolean {
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (i >= head.length || (head[i] !== 0x7b && head[i] !== 0x5b)) return false;
  return head.every((b) => b >= 0x20 || b === 0x0a || b === 0x0d || b === 0x09);
}

async function readCandidate(source: ModelSource, file: string): Promise<Uint8Array | undefined> {
  const src = await source.open(file);
  if (src.size === 0 || src.size > MAX_TFJS_JSON_BYTES) return undefined;
  const head = await src.read(0, Math.min(src.size, SNIFF_BYTES));
  if (!looksLikeJsonText(head)) return undefined;
  return src.size <= SNIFF_BYTES ? head : src.read(0, src.size);
}

/**
 * Returns the one TF.js JSON of the source. Throws INVALID_ARGUMENT when there is none (naming a candidate
 * that failed to parse, if any) or more than one.
 */
export async function findTfjsJson(source: ModelSource): Promise<FoundJson> {
  const found: FoundJson[] = [];
  let firstError: unknown;
  for (const file of source.files) {
    const bytes = await readCandidate(source, file);
    if (bytes === undefined) continue;
    try {
      const json = parseJsonBytes(bytes, file);
      const kind = tfjsJsonKind(json);
      if (kind !== undefined) found.push({ file, bytes, json, kind });
      else firstError ??= invalidArgument(`${file}: JSON is neither a TF.js model.json nor a weights manifest`);
    } catch (e) {
      firstError ??= e;
    }
  }
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    throw invalidArgument(`several TF.js JSON files in one model: ${found.map((f) => f.file).join(', ')}`);
  }
  if (firstError !== undefined) throw firstError;
  throw invalidArgument(`no TF.js model.json or weights manifest among files [${source.files.join(', ')}]`);
}

/** Like `findTfjsJson` but answers false for a source that is not TF.js; I/O errors still throw. */
export async function hasTfjsJson(source: ModelSource): Promise<boolean> {
  try {
    await findTfjsJson(source);
    return true;
  } catch (e) {
    if (isNeurStoreError(e, 'INVALID_ARGUMENT')) return false;
    throw e;
  }
}
