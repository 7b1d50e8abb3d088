/** Human-readable rendering for the CLI: byte sizes, ratios and aligned tables. */

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Left-aligned columns separated by two spaces; numbers right-aligned. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => cells.reduce((w, r) => Math.max(w, (r[c] ?? '').length), 0));
  const numeric = header.map((_, c) => rows.length > 0 && rows.every((r) => typeof r[c] === 'number' || /^[\d.,]+( ?[A-Z]?B|x|%)?$/.test(String(r[c]))));
  return cells
    .map((r) => r.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd())
    .join('\n');
}

/** JSON with bigints as decimal strings (record keys are u64): the store's one rendering (src/store/json-keys.ts). */
export { toJson } from '../store/json-keys.js';
