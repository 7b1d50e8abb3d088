/**
 * What a repository's model card (README.md) declares about its lineage: `base_model` in the YAML front
 * matter, as the Hub's model cards write it (a string, a flow list `[a, b]`, or a block list of `- a`).
 * Only this key is read, so no YAML library is needed; anything else in the front matter is ignored.
 */
export function baseModelsOfCard(text: string): string[] {
  const m = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)\s*(?:\r?\n|$)/.exec(text);
  if (!m) return [];
  const lines = m[1]!.split(/\r?\n/);
  const at = lines.findIndex((l) => /^base_model\s*:/.test(l));
  if (at < 0) return [];
  const inline = lines[at]!.replace(/^base_model\s*:/, '').replace(/\s+#.*$/, '').trim();
  const values: string[] = [];
  if (inline.startsWith('[')) values.push(...inline.replace(/^\[|\]$/g, '').split(','));
  else if (inline) values.push(inline);
  else {
    for (const l of lines.slice(at + 1)) {
      const item = /^\s*-\s*(.+?)\s*$/.exec(l);
      if (!item) break;
      values.push(item[1]!);
    }
  }
  return values.map((v) => v.trim().replace(/^['"]|['"]$/g, '')).filter((v) => v.length > 0 && v.length <= 200);
}
