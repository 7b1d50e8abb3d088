/**
 * The dashboard's HTML building blocks: escaping (every string from a store or a request goes through `esc`),
 * number formatting, and the page layout with its stylesheet (light and dark follow the system's
 * prefers-color-scheme). No client framework and nothing from a CDN: the page's one small script is served by
 * NeurStore at /ui/assets/dashboard.js.
 */

/** Escapes text for HTML text and double-quoted attribute values (and SVG text). */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A URL path segment (or a query value) escaped for a URL, then for HTML. */
export const url = (s: string): string => esc(encodeURIComponent(s));

/** A repository id `ns/name` as a URL path (the slash kept). */
export const repoPath = (name: string): string => name.split('/').map(encodeURIComponent).join('/');

export function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`;
}

export const fmtInt = (n: number): string => n.toLocaleString('en-US');
export const fmtRatio = (r: number): string => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '—');
export const fmtError = (e: number): string => (e === 0 ? '0' : e.toExponential(2));
export const fmtDate = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** A figure with its exact value in `data-value` (what the browser test compares with `store.stats()`). */
export function figure(key: string, label: string, value: number, shown: string): string {
  return `<div class="figure"><dt>${esc(label)}</dt><dd data-stat="${esc(key)}" data-value="${esc(value)}" title="${esc(fmtInt(value))}">${esc(shown)}</dd></div>`;
}

export interface Crumb { label: string; href?: string }

export interface PageOptions {
  title: string;
  crumbs?: Crumb[];
  /** The request's token is valid (a cookie or header): show "log out" instead of "log in". */
  loggedIn: boolean;
  body: string;
  /** Reload the page after this many seconds (a page waiting for a background job, e.g. a tolerance sweep). */
  refreshSeconds?: number;
}

export function page(o: PageOptions): string {
  const crumbs = [{ label: 'NeurStore', href: '/ui' }, ...(o.crumbs ?? [])]
    .map((c) => (c.href ? `<a href="${esc(c.href)}">${esc(c.label)}</a>` : `<span>${esc(c.label)}</span>`))
    .join(' <span class="sep">/</span> ');
  const auth = o.loggedIn
    ? '<form method="post" action="/ui/logout" class="auth"><button type="submit">Log out</button></form>'
    : '<a class="auth" href="/ui/login">Log in</a>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">${o.refreshSeconds ? `<meta http-equiv="refresh" content="${esc(o.refreshSeconds)}">` : ''}<title>${esc(o.title)} · NeurStore</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/assets/dashboard.css"></head>
<body><header><nav>${crumbs}</nav><a href="/ui/lineage">Lineage</a>${auth}</header>
<main>${o.body}</main>
<script src="/ui/assets/dashboard.js" defer></script></body></html>`;
}

export const CSS = `
:root { --bg: #fff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --card: #f6f8fa; --accent: #0969da; --bar: #2f81f7; --bar2: #9ecbff; --warn: #bf8700; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --card: #151b23; --accent: #4493f8; --bar: #4493f8; --bar2: #1f4a80; --warn: #d29922; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; gap: 1.5em; align-items: center; padding: .7em 1.5em; border-bottom: 1px solid var(--line); background: var(--card); }
header nav { flex: 1; font-weight: 600; overflow-wrap: anywhere; }
header .sep { color: var(--muted); }
main { padding: 1em 1.5em 3em; max-width: 1200px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
h1 { font-size: 1.5em; margin: .4em 0; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 1.6em 0 .5em; }
.muted { color: var(--muted); }
dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .6em; margin: 0; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .5em .8em; }
.figure dt { color: var(--muted); font-size: .85em; }
.figure dd { margin: 0; font-size: 1.3em; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; }
td { overflow-wrap: anywhere; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button::after { content: " ↕"; color: var(--muted); font-size: .8em; }
th[aria-sort="ascending"] button::after { content: " ↑"; }
th[aria-sort="descending"] button::after { content: " ↓"; }
.tag { display: inline-block; padding: 0 .45em; margin: 0 .2em .2em 0; border: 1px solid var(--line); border-radius: 1em; font-size: .8em; color: var(--muted); }
form.filters { display: flex; gap: .6em; margin: .5em 0; flex-wrap: wrap; }
input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .3em .6em; }
button { cursor: pointer; background: var(--card); }
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { fill: var(--fg); font-size: 12px; }
svg.chart .axis { stroke: var(--line); }
svg.chart .bar { fill: var(--bar); }
svg.chart .bar2 { fill: var(--bar2); }
svg.chart .muted { fill: var(--muted); }
svg.chart .grid { stroke: var(--line); stroke-dasharray: 2 3; }
svg.curve .line { stroke: var(--bar); stroke-width: 2; fill: none; }
svg.curve .point { fill: var(--bar); }
svg.curve .chosen line { stroke: var(--warn); stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.curve .chosen text { fill: var(--warn); font-weight: 600; }
tr.chosen td { font-weight: 600; }
progress { width: 16em; vertical-align: middle; }
svg.graph rect { fill: var(--card); stroke: var(--accent); }
svg.graph line, svg.graph path { stroke: var(--muted); fill: none; }
svg.graph .declared { stroke-dasharray: 4 3; }
svg.graph .arrow { fill: var(--muted); stroke: none; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 1.5em; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 1em 1.2em; overflow-wrap: anywhere; }
.card pre { overflow-x: auto; }
.error { border-color: var(--warn); }
.auth { margin: 0; }
`;

/** The dashboard's only script: live name search, tag filter and column sorting of `table[data-filterable]`. */
export const JS = `
(() => {
  for (const table of document.querySelectorAll('table[data-filterable]')) {
    const form = document.getElementById(table.dataset.filterable);
    const q = form && form.querySelector('input[name=q]');
    const tag = form && form.querySelector('select[name=tag]');
    const count = form && form.querySelector('[data-count]');
    const rows = () => Array.from(table.tBodies[0].rows);
    const apply = () => {
      const needle = q ? q.value.trim().toLowerCase() : '';
      const want = tag ? tag.value : '';
      let shown = 0;
      for (const r of rows()) {
        const ok = (!needle || r.dataset.name.toLowerCase().includes(needle)) && (!want || r.dataset.tags.split('\\n').includes(want));
        r.hidden = !ok;
        if (ok) shown++;
      }
      if (count) count.textContent = shown + ' shown';
    };
    if (q) q.addEventListener('input', apply);
    if (tag) tag.addEventListener('change', apply);
    if (form) form.addEventListener('submit', (e) => { e.preventDefault(); apply(); });
    table.querySelectorAll('th[data-sort]').forEach((th, col) => {
      const b = th.querySelector('button');
      if (!b) return;
      b.addEventListener('click', () => {
        const idx = Array.from(th.parentNode.children).indexOf(th);
        const asc = th.getAttribute('aria-sort') !== 'ascending';
        table.querySelectorAll('th[aria-sort]').forEach((o) => o.removeAttribute('aria-sort'));
        th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
        const num = th.dataset.sort === 'num';
        const key = (r) => { const c = r.cells[idx]; const v = c.dataset.value ?? c.textContent; return num ? Number(v) : v.toLowerCase(); };
        const sorted = rows().sort((a, b) => { const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1); });
        table.tBodies[0].append(...sorted);
      });
    });
    apply();
  }
})();
`;
