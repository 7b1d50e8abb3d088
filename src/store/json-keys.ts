/**
 * JSON of values holding record keys (u64 bigints, which JSON.stringify refuses): the one rendering of a key for
 * every face. The CLI's `--json` writes keys as decimal strings; NeurStore's HTTP API as hex strings (as it always
 * has); both go through `recordKeyJson`.
 */

/** How a record key is written in JSON: 'decimal' (the CLI) or 'hex' (the HTTP API). */
export type KeyEncoding = 'decimal' | 'hex';

/** A record key as a JSON string (`null` for no key). */
export function recordKeyJson(key: bigint | undefined, encoding: KeyEncoding = 'decimal'): string | null {
  if (key === undefined) return null;
  return encoding === 'hex' ? key.toString(16) : key.toString();
}

/** A JSON.stringify replacer writing every bigint as `recordKeyJson` does (decimal unless told). */
export function bigintReplacer(encoding: KeyEncoding = 'decimal'): (key: string, value: unknown) => unknown {
  return (_k, v) => (typeof v === 'bigint' ? recordKeyJson(v, encoding) : v);
}

/** Pretty JSON (two-space indent) with bigints as decimal strings: what every `--json` of the CLI prints. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, bigintReplacer('decimal'), 2);
}
