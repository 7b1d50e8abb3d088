/**
 * The dashboard's pages, rendered from plain data (routes.ts gathers it under the request's access). Every
 * string from the store, the registry or the request passes through `esc`/`url`.
 */
import type { StoreStats, ModelInfo } from '../store/store-types.js';
import type { TensorRow } from '../catalog/catalog.js';
import type { CommitRow, FileRow, RefRow, RepoRow } from '../registry/registry-db.js';
import { barChart, histogram, lineageSvg, logCurve, type Bar } from './charts.js';
import type { ModelSweep } from '../store/model-sweep.js';
import { esc, figure, fmtBytes, fmtDate, fmtError, fmtInt, fmtRatio, page, repoPath, url } from './html.js';
import { markdown } from './markdown.js';

export const modelHref = (name: string): string => `/ui/model?name=${encodeURIComponent(name)}`;
export const repoHref = (name: string): string => `/ui/repos/${repoPath(name)}`;
export const toleranceHref = (name: string): string => `/ui/tolerance?name=${encodeURIComponent(name)}`;

/** One row of the overview table: a repository or a store model. */
export interface OverviewRow {
  kind: 'repository' | 'model';
  name: string;
  href: string;
  mode: string;
  tensors: number;
  bytesIn: number;
  /** Bytes the model's put added on disk (undefined for a repository). */
  storedBytes?: number;
  tags: string[];
  createdMs: number;
}

export interface Savings { mechanism: string; bytes: number }

export interface OverviewData { stats: StoreStats; rows: OverviewRow[]; savings: Savings[]; q: string; tag: string; loggedIn: boolean; /** The token may gc the store. */ storeWriter?: boolean }

export function overviewPage(d: OverviewData): string {
  const s = d.stats;
  const figures = [
    figure('models', 'Models', s.models, fmtInt(s.models)),
    figure('tensors', 'Tensors', s.tensors, fmtInt(s.tensors)),
    figure('bytesIn', 'Bytes in', s.bytesIn, fmtBytes(s.bytesIn)),
    figure('bytesOnDisk', 'Bytes on disk', s.bytesOnDisk, fmtBytes(s.bytesOnDisk)),
    figure('ratio', 'Ratio', s.ratio, fmtRatio(s.ratio)),
    figure('dedupHits', 'Dedup hits', s.dedupHits, fmtInt(s.dedupHits)),
  ].join('');
  const allTags = [...new Set(d.rows.flatMap((r) => r.tags))].sort();
  const needle = d.q.toLowerCase();
  const rows = d.rows.map((r) => {
    const hidden = (needle && !r.name.toLowerCase().includes(needle)) || (d.tag && !r.tags.includes(d.tag));
    const ratio = r.storedBytes ? r.bytesIn / r.storedBytes : Infinity;
    return `<tr data-name="${esc(r.name)}" data-tags="${esc(r.tags.join('\n'))}"${hidden ? ' hidden' : ''}>`
      + `<td><a href="${esc(r.href)}">${esc(r.name)}</a></td><td>${esc(r.kind)}</td><td>${esc(r.mode)}</td>`
      + `<td class="num" data-value="${r.tensors}">${fmtInt(r.tensors)}</td>`
      + `<td class="num" data-value="${r.bytesIn}">${esc(fmtBytes(r.bytesIn))}</td>`
      + `<td class="num" data-value="${r.storedBytes ?? -1}">${r.storedBytes === undefined ? '' : esc(fmtBytes(r.storedBytes))}</td>`
      + `<td class="num" data-value="${Number.isFinite(ratio) ? ratio : -1}">${r.storedBytes === undefined ? '' : esc(fmtRatio(ratio))}</td>`
      + `<td>${r.tags.map((t) => `<span class="tag">${esc(t)}</span>`).join('')}</td>`
      + `<td data-value="${r.createdMs}">${esc(fmtDate(r.createdMs))}</td></tr>`;
  }).join('\n');
  const th = (label: string, sort: 'num' | 'text', num = false) =>
    `<th scope="col" data-sort="${sort}"${num ? ' class="num"' : ''}><button type="button">${esc(label)}</button></th>`;
  const body = `<h1>Store overview</h1>
<dl class="figures" aria-label="store totals">${figures}</dl>
${d.storeWriter ? '<p><a href="/ui/gc" id="gc">Run gc…</a></p>' : ''}
<div class="charts"><section><h2>Bytes saved by mechanism</h2>
${barChart('bytes saved by mechanism', d.savings.map((x) => ({ label: x.mechanism, value: x.bytes })), fmtBytes)}
<p class="muted">Saved = a tensor's bytes minus what it added on disk, summed by how it is stored: exact dedup (duplicates), deltas (against a base tensor), lossless coding, quantization (lossy standalone).</p></section></div>
<h2>Models and repositories</h2>
<form class="filters" id="overview-filters" method="get" action="/ui" role="search">
<label>Name <input type="search" name="q" value="${esc(d.q)}" placeholder="search by name" autocomplete="off"></label>
<label>Tag <select name="tag"><option value="">all</option>${allTags.map((t) => `<option${t === d.tag ? ' selected' : ''}>${esc(t)}</option>`).join('')}</select></label>
<button type="submit">Filter</button><span class="muted" data-count aria-live="polite"></span></form>
<table data-filterable="overview-filters" id="overview"><thead><tr>${th('Name', 'text')}${th('Kind', 'text')}${th('Mode', 'text')}${th('Tensors', 'num', true)}${th('Bytes in', 'num', true)}${th('Added on disk', 'num', true)}${th('Ratio', 'num', true)}<th scope="col">Tags</th>${th('Created', 'num')}</tr></thead>
<tbody>
${rows}
</tbody></table>`;
  return page({ title: 'Store overview', loggedIn: d.loggedIn, body });
}

export interface TensorView extends TensorRow { base?: { model: string; tensor: string } }

export interface ModelData { model: ModelInfo; maxError: number; tensors: TensorView[]; repos: string[]; loggedIn: boolean; /** The token may remove this model. */ canDelete?: boolean }

export function modelPage(d: ModelData): string {
  const m = d.model;
  const figures = [
    figure('tensors', 'Tensors', m.tensorCount, fmtInt(m.tensorCount)),
    figure('bytesIn', 'Bytes in', m.bytesIn, fmtBytes(m.bytesIn)),
    figure('storedBytes', 'Added on disk', m.storedBytes, fmtBytes(m.storedBytes)),
    figure('maxError', 'Max error', d.maxError, fmtError(d.maxError)),
  ].join('');
  const top = [...d.tensors].sort((a, b) => b.byteLength - a.byteLength).slice(0, 30);
  const bars: Bar[] = top.map((t) => ({ label: t.name, value: t.storedBytes, back: t.byteLength, title: `${t.name}: ${fmtBytes(t.storedBytes)} on disk of ${fmtBytes(t.byteLength)} (${t.storedAs})` }));
  const rows = d.tensors.map((t) => `<tr data-name="${esc(t.name)}" data-tags=""><td>${esc(t.name)}</td><td>${esc(t.dtype)}</td><td>${esc(`[${t.shape.join(', ')}]`)}</td>`
    + `<td>${esc(t.storedAs)}</td><td class="num" data-value="${t.bits}">${esc(t.bits.toFixed(2))}</td>`
    + `<td class="num" data-value="${t.byteLength}">${esc(fmtBytes(t.byteLength))}</td><td class="num" data-value="${t.storedBytes}">${esc(fmtBytes(t.storedBytes))}</td>`
    + `<td class="num" data-value="${t.maxError}">${esc(fmtError(t.maxError))}</td>`
    + `<td>${t.base ? `${esc(t.base.tensor)}${t.base.model === m.name ? '' : ` <span class="muted">in</span> <a href="${esc(modelHref(t.base.model))}">${esc(t.base.model)}</a>`}` : ''}</td></tr>`).join('\n');
  const tags = Object.entries(m.tags).map(([k, v]) => `<span class="tag">${esc(`${k}=${v}`)}</span>`).join('');
  const body = `<h1>${esc(m.name)}</h1>
<p class="muted">${esc(m.format)} · ${esc(m.mode)}${m.tolerance ? ` · tolerance ${esc(m.tolerance)}` : ''} · put ${esc(fmtDate(m.createdMs))} · files ${esc(m.files.join(', '))} ${tags}</p>
${d.repos.length ? `<p>In ${d.repos.map((r) => `<a href="${esc(repoHref(r))}">${esc(r)}</a>`).join(', ')}</p>` : ''}
<p><a href="${esc(toleranceHref(m.name))}" id="tolerance-link">Tolerance sweep</a> <span class="muted">(ratio and max error from 1e-5 to 1e-1)</span></p>
<dl class="figures" aria-label="model totals">${figures}</dl>
${d.canDelete ? `<p><a href="/ui/model/delete?name=${url(m.name)}" id="delete">Delete this model…</a></p>` : ''}
<div class="charts"><section><h2>Bytes per tensor</h2>${barChart('bytes per tensor', bars, fmtBytes)}
<p class="muted">On disk (dark) over the tensor's size (light)${d.tensors.length > top.length ? `; the ${top.length} largest of ${d.tensors.length}` : ''}.</p></section>
<section><h2>Bits per element</h2>${histogram('bits per element', d.tensors.map((t) => t.bits), 'bits per element (tensors)')}</section></div>
<h2>Tensors</h2>
<form class="filters" id="tensor-filters" role="search"><label>Name <input type="search" name="q" placeholder="search tensors" autocomplete="off"></label><span class="muted" data-count aria-live="polite"></span></form>
<table data-filterable="tensor-filters" id="tensors"><thead><tr><th scope="col" data-sort="text"><button type="button">Tensor</button></th><th scope="col">dtype</th><th scope="col">shape</th>
<th scope="col" data-sort="text"><button type="button">Stored as</button></th><th scope="col" class="num" data-sort="num"><button type="button">Bits/elem</button></th>
<th scope="col" class="num" data-sort="num"><button type="button">Bytes</button></th><th scope="col" class="num" data-sort="num"><button type="button">On disk</button></th>
<th scope="col" class="num" data-sort="num"><button type="button">Max error</button></th><th scope="col">Base tensor</th></tr></thead>
<tbody>
${rows}
</tbody></table>`;
  return page({ title: m.name, crumbs: [{ label: 'model' }, { label: m.name }], loggedIn: d.loggedIn, body });
}

/** Where the page's sweep stands: none (or one the store has changed since), running, done or failed. */
export type SweepState =
  | { kind: 'none' }
  | { kind: 'running'; done: number; total: number; tolerance?: number }
  | { kind: 'done'; sweep: ModelSweep; atMs: number }
  | { kind: 'failed'; message: string; atMs: number };

export interface ToleranceData { model: ModelInfo; state: SweepState; tolerances: readonly number[]; loggedIn: boolean }

const fmtTol = (t: number): string => Number(t.toPrecision(3)).toExponential().replace('e+', 'e');

/** A model's tolerance sweep: the button to start it, its progress (the page reloads itself), or its curve and table. */
export function tolerancePage(d: ToleranceData): string {
  const m = d.model;
  const lossless = m.mode === 'lossless' || !(m.tolerance > 0);
  const chosenLabel = lossless ? 'this model: lossless (no tolerance)' : `this model: ${fmtTol(m.tolerance)}`;
  const action = `/ui/tolerance?name=${url(m.name)}`;
  const run = (label: string) => `<form method="post" action="${action}" class="run"><input type="hidden" name="run" value="1"><button type="submit" id="run-sweep">${esc(label)}</button></form>`;
  const s = d.state;
  let result: string;
  if (s.kind === 'running') {
    result = `<div class="card" role="status" aria-live="polite" id="sweep-status"><p>Sweeping: tolerance ${Math.min(s.done + 1, s.total)} of ${s.total}${s.tolerance ? ` (${esc(fmtTol(s.tolerance))})` : ''}…</p>
<progress id="sweep-progress" max="${s.total}" value="${s.done}">${s.done} of ${s.total}</progress> <span class="muted">This page reloads itself until the curve is there.</span></div>`;
  } else if (s.kind === 'failed') {
    result = `<div class="card error" role="alert" id="sweep-status"><p>The sweep failed (${esc(fmtDate(s.atMs))}): ${esc(s.message)}</p>${run('Run the sweep again')}</div>`;
  } else if (s.kind === 'done') {
    const rows = s.sweep.rows;
    const points = rows.map((r) => ({ x: r.tolerance, y: r.ratio, title: `tolerance ${fmtTol(r.tolerance)}: ratio ${fmtRatio(r.ratio)}, ${fmtBytes(r.storedBytes)} stored, max error ${fmtError(r.maxError)}` }));
    const chosenRow = (t: number) => !lossless && Math.abs(t - m.tolerance) <= 1e-12 * Math.max(t, m.tolerance);
    const table = rows.map((r) => `<tr${chosenRow(r.tolerance) ? ' class="chosen" aria-current="true"' : ''}><td data-value="${r.tolerance}">${esc(fmtTol(r.tolerance))}${chosenRow(r.tolerance) ? ' <span class="tag">this model</span>' : ''}</td>`
      + `<td class="num" data-value="${r.ratio}">${esc(fmtRatio(r.ratio))}</td><td class="num" data-value="${r.storedBytes}">${esc(fmtBytes(r.storedBytes))}</td>`
      + `<td class="num" data-value="${r.maxError}">${esc(fmtError(r.maxError))}</td></tr>`).join('\n');
    const infinite = rows.filter((r) => !Number.isFinite(r.ratio)).length;
    result = `<div class="charts"><section><h2>Ratio vs tolerance</h2><p class="muted">Both axes log scale.</p>
${logCurve('compression ratio vs tolerance', points, { xLabel: 'tolerance (max error bound, log scale)', yLabel: 'ratio', fmtY: (v) => `${Number(v.toPrecision(3))}x`, logY: true, chosen: lossless ? 'lossless' : m.tolerance, chosenLabel })}
${infinite ? `<p class="muted">${infinite} tolerance(s) stored no new bytes (ratio —): not drawn.</p>` : ''}</section></div>
<table id="sweep"><thead><tr><th scope="col">Tolerance</th><th scope="col" class="num">Ratio</th><th scope="col" class="num">Stored bytes</th><th scope="col" class="num">Max error</th></tr></thead><tbody>
${table}
</tbody></table>
<p class="muted">Swept ${esc(fmtDate(s.atMs))} in ${esc(s.sweep.mode)} mode; kept until the store changes.</p>${run('Run the sweep again')}`;
  } else {
    result = `<div class="card" id="sweep-status"><p>No sweep of this model since the store last changed. It takes one dry run per tolerance (${esc(d.tolerances.map(fmtTol).join(', '))}).</p>${run('Run the sweep')}</div>`;
  }
  const body = `<h1>Tolerance sweep: ${esc(m.name)}</h1>
<p class="muted"><a href="${esc(modelHref(m.name))}">${esc(m.name)}</a> · ${esc(m.format)} · stored ${lossless ? 'lossless' : `${esc(m.mode)} at tolerance ${esc(fmtTol(m.tolerance))}`} · ${esc(fmtBytes(m.bytesIn))} in</p>
<p>What each error bound would buy for this model: one dry run per tolerance of the model alone, in an empty scratch store (so no dedup against the other models here; nothing is stored). Ratio = bytes in / bytes it would store; max error = the largest error of any value. No metric: the store knows no task to measure this model on (<code>neurstore sweep FILE --eval SCRIPT</code> measures one).</p>
${lossless ? '' : '<p class="card error" id="lossy-note">This model is stored lossy: it is swept from its stored values as the store gives them back, not from the file first put.</p>'}
${result}`;
  return page({ title: `Tolerance: ${m.name}`, crumbs: [{ label: 'model' }, { label: m.name, href: modelHref(m.name) }, { label: 'tolerance' }], loggedIn: d.loggedIn, body, refreshSeconds: s.kind === 'running' ? 1 : undefined });
}

export interface RepoData {
  repo: RepoRow; commit: CommitRow; rev: string; files: FileRow[]; commits: CommitRow[]; refs: RefRow[];
  readme?: string; storedBytes: Map<string, number>; loggedIn: boolean; /** The token may delete the repository. */ canDelete?: boolean;
}

export function repoPage(d: RepoData): string {
  const name = d.repo.name;
  const dl = (f: FileRow) => `/${repoPath(name)}/resolve/${encodeURIComponent(d.commit.id)}/${f.path.split('/').map(encodeURIComponent).join('/')}`;
  const files = d.files.map((f) => `<tr><td>${esc(f.path)}</td><td class="num" data-value="${f.size}">${esc(fmtBytes(f.size))}</td>`
    + `<td>${f.kind === 'model' ? `<a href="${esc(modelHref(f.ref))}">model</a>${d.storedBytes.has(f.ref) ? ` <span class="muted">(${esc(fmtBytes(d.storedBytes.get(f.ref)!))} added on disk)</span>` : ''}` : 'file'}</td>`
    + `<td><a href="${esc(dl(f))}" download>download</a></td></tr>`).join('\n');
  const commits = d.commits.map((c) => `<tr><td><code>${esc(c.id.slice(0, 10))}</code></td><td>${esc(c.message)}</td><td>${esc(c.author)}</td><td>${esc(fmtDate(c.createdMs))}</td></tr>`).join('\n');
  const refs = d.refs.map((r) => `<tr><td>${esc(r.kind)}</td><td><a href="${esc(repoHref(name))}?rev=${url(r.name)}">${esc(r.name)}</a></td><td><code>${esc(r.commit.slice(0, 10))}</code></td></tr>`).join('\n');
  const body = `<h1>${esc(name)}</h1>
<p class="muted">${d.repo.private ? 'private' : 'public'} · ${esc(d.repo.mode)}${d.repo.tolerance ? ` · tolerance ${esc(d.repo.tolerance)}` : ''} · at <code>${esc(d.rev)}</code> = <code>${esc(d.commit.id.slice(0, 10))}</code>
${d.commit.baseModels.length ? ` · base model ${d.commit.baseModels.map((b) => esc(b)).join(', ')}` : ''} · <a href="/ui/lineage?repo=${url(name)}">lineage</a></p>
<h2>Files</h2><table id="files"><thead><tr><th scope="col">Path</th><th scope="col" class="num">Size</th><th scope="col">Stored</th><th scope="col">Download</th></tr></thead><tbody>
${files}
</tbody></table>
<h2>Model card</h2><div class="card" id="readme">${d.readme === undefined ? '<p class="muted">No README.md.</p>' : markdown(d.readme)}</div>
<h2>Commits</h2><table id="commits"><thead><tr><th scope="col">Commit</th><th scope="col">Message</th><th scope="col">Author</th><th scope="col">Date</th></tr></thead><tbody>
${commits}
</tbody></table>
<h2>Branches and tags</h2><table id="refs"><thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Commit</th></tr></thead><tbody>
${refs}
</tbody></table>
${d.canDelete ? `<p><a href="${esc(repoHref(name))}/delete" id="delete">Delete this repository…</a></p>` : ''}`;
  return page({ title: name, crumbs: [{ label: 'repositories' }, { label: name }], loggedIn: d.loggedIn, body });
}

export interface LineageData { repos: string[]; edges: Array<{ base: string; child: string; declared: boolean; sharedTensors: number; bytesSaved: number }>; focus?: string; local: Set<string>; loggedIn: boolean }

export function lineagePage(d: LineageData): string {
  const edges = d.edges.map((e) => ({ base: e.base, child: e.child, declared: e.declared && e.sharedTensors === 0, label: e.sharedTensors ? `${fmtBytes(e.bytesSaved)} saved` : 'declared' }));
  const nodes = [...new Set([...d.repos, ...d.edges.flatMap((e) => [e.base, e.child])])];
  const rows = d.edges.map((e) => `<tr><td>${esc(e.base)}</td><td>${esc(e.child)}</td><td>${e.declared ? 'yes' : ''}</td><td class="num">${fmtInt(e.sharedTensors)}</td><td class="num" data-value="${e.bytesSaved}">${esc(fmtBytes(e.bytesSaved))}</td></tr>`).join('\n');
  const body = `<h1>Lineage${d.focus ? ` of ${esc(d.focus)}` : ''}</h1>
<p class="muted">Base → fine-tune. Solid: the store found shared or delta-coded tensors (labelled with the bytes saved); dashed: only declared by a model card's base_model.</p>
${nodes.length ? lineageSvg(nodes, edges, (n) => (d.local.has(n) ? repoHref(n) : undefined)) : '<p>No repositories yet.</p>'}
<h2>Edges</h2><table id="edges"><thead><tr><th scope="col">Base</th><th scope="col">Child</th><th scope="col">Declared</th><th scope="col" class="num">Shared tensors</th><th scope="col" class="num">Bytes saved</th></tr></thead><tbody>
${rows}
</tbody></table>`;
  return page({ title: 'Lineage', crumbs: [{ label: 'lineage' }], loggedIn: d.loggedIn, body });
}

export function messagePage(title: string, message: string, loggedIn: boolean, extra = ''): string {
  return page({ title, loggedIn, body: `<h1>${esc(title)}</h1><div class="card error"><p>${esc(message)}</p>${extra}</div>` });
}

export function loginPage(error: string | undefined, loggedIn: boolean): string {
  return page({
    title: 'Log in', loggedIn, body: `<h1>Log in</h1>
<form method="post" action="/ui/login" class="card"><p>Paste a token from <code>neurstore token create</code>. It is kept in an HttpOnly cookie of this browser, never in a page.</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<label>Token <input type="password" name="token" autocomplete="off" required pattern="hf_[A-Za-z0-9]+" size="44"></label> <button type="submit">Log in</button></form>`,
  });
}

/** A confirmation page for a write: the name typed again, then a POST to `action`. */
export function confirmPage(title: string, what: string, action: string, name: string, button: string): string {
  return page({
    title, loggedIn: true, body: `<h1>${esc(title)}</h1>
<form method="post" action="${esc(action)}" class="card error"><p>${esc(what)}</p>
<label>Type <code>${esc(name)}</code> to confirm <input name="confirm" autocomplete="off" required></label> <button type="submit">${esc(button)}</button>
<a href="/ui">Cancel</a></form>`,
  });
}
