/**
 * Charts as plain SVG drawn on the server: horizontal bars (optionally a second, lighter bar behind each, e.g.
 * bytes in behind bytes stored), a histogram, and a layered lineage graph. Every label goes through `esc`;
 * colours come from the page's stylesheet, so dark/light follow the system.
 */
import { esc } from './html.js';

export interface Bar { label: string; value: number; /** Drawn lighter behind `value` (e.g. the size before). */ back?: number; title?: string; href?: string }

const W = 640;

/** Horizontal bars, one row each, labelled left and valued right (`fmt`). */
export function barChart(title: string, bars: readonly Bar[], fmt: (n: number) => string): string {
  const row = 22;
  const labelW = 200;
  const valueW = 110;
  const plotW = W - labelW - valueW;
  const max = Math.max(1, ...bars.map((b) => Math.max(b.value, b.back ?? 0)));
  const h = Math.max(1, bars.length) * row + 8;
  const x = (v: number) => (Math.max(0, v) / max) * plotW;
  const rows = bars.map((b, i) => {
    const y = 4 + i * row;
    const label = b.label.length > 27 ? `…${b.label.slice(-26)}` : b.label;
    const text = `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end">${esc(label)}</text>`;
    const back = b.back !== undefined ? `<rect class="bar2" x="${labelW}" y="${y + 3}" width="${x(b.back).toFixed(1)}" height="${row - 6}"/>` : '';
    const bar = `<rect class="bar" x="${labelW}" y="${y + 3}" width="${x(b.value).toFixed(1)}" height="${row - 6}"/>`;
    const val = `<text class="muted" x="${labelW + plotW + 6}" y="${y + 15}">${esc(fmt(b.value))}</text>`;
    const g = `<g><title>${esc(b.title ?? `${b.label}: ${fmt(b.value)}`)}</title>${text}${back}${bar}${val}</g>`;
    return b.href ? `<a href="${esc(b.href)}">${g}</a>` : g;
  });
  const empty = bars.length === 0 ? `<text x="${W / 2}" y="18" text-anchor="middle" class="muted">nothing to show</text>` : '';
  return `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}"><title>${esc(title)}</title>`
    + `<line class="axis" x1="${labelW}" y1="0" x2="${labelW}" y2="${h}"/>${rows.join('')}${empty}</svg>`;
}

/** A histogram of `values` in `bins` equal bins from 0 to the largest value (counts on the y axis). */
export function histogram(title: string, values: readonly number[], xLabel: string, bins = 16): string {
  const H = 220;
  const pad = { l: 40, r: 10, t: 10, b: 36 };
  const max = Math.max(1e-9, ...values);
  const width = max / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor(v / width))]!++;
  const top = Math.max(1, ...counts);
  const pw = W - pad.l - pad.r;
  const ph = H - pad.t - pad.b;
  const bw = pw / bins;
  const bars = counts.map((c, i) => {
    const h = (c / top) * ph;
    const lo = i * width;
    return `<rect class="bar" x="${(pad.l + i * bw + 1).toFixed(1)}" y="${(pad.t + ph - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}"><title>${esc(`${lo.toFixed(2)}–${(lo + width).toFixed(2)} ${xLabel}: ${c}`)}</title></rect>`;
  });
  const ticks = [0, bins / 4, bins / 2, (3 * bins) / 4, bins].map((i) =>
    `<text x="${(pad.l + i * bw).toFixed(1)}" y="${H - pad.b + 15}" text-anchor="${i === bins ? 'end' : 'middle'}" class="muted">${esc((i * width).toFixed(1))}</text>`);
  return `<svg class="chart" role="img" aria-label="${esc(title)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><title>${esc(title)}</title>`
    + `<line class="axis" x1="${pad.l}" y1="${pad.t + ph}" x2="${W - pad.r}" y2="${pad.t + ph}"/>`
    + `<text x="4" y="${pad.t + 10}" class="muted">${top}</text><text x="4" y="${pad.t + ph}" class="muted">0</text>`
    + `${bars.join('')}${ticks.join('')}<text x="${pad.l + pw / 2}" y="${H - 4}" text-anchor="middle" class="muted">${esc(xLabel)}</text></svg>`;
}

export interface GraphEdge { base: string; child: string; label: string; declared: boolean }

/**
 * A layered graph: each node one layer below its deepest base (cycles cut), nodes are links (`href`), edges are
 * arrows from base to child labelled `label`; declared-only edges (a card's base_model) are dashed.
 */
export function lineageSvg(nodes: readonly string[], edges: readonly GraphEdge[], href: (node: string) => string | undefined): string {
  const layer = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    let moved = false;
    for (const e of edges) {
      const want = (layer.get(e.base) ?? 0) + 1;
      if (want > (layer.get(e.child) ?? 0) && want < nodes.length) {
        layer.set(e.child, want);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const layers: string[][] = [];
  for (const n of nodes) (layers[layer.get(n)!] ??= []).push(n);
  const nodeW = 210;
  const nodeH = 34;
  const gapX = 40;
  const gapY = 90;
  const cols = Math.max(1, ...layers.map((l) => l?.length ?? 0));
  const width = Math.max(W, cols * (nodeW + gapX) + gapX);
  const pos = new Map<string, { x: number; y: number }>();
  layers.forEach((l, i) => (l ?? []).forEach((n, j) => {
    const x = (width - l.length * (nodeW + gapX) + gapX) / 2 + j * (nodeW + gapX);
    pos.set(n, { x, y: 20 + i * (nodeH + gapY) });
  }));
  const height = Math.max(80, layers.length * (nodeH + gapY) - gapY + 40);
  const lines = edges.filter((e) => pos.has(e.base) && pos.has(e.child)).map((e) => {
    const a = pos.get(e.base)!;
    const b = pos.get(e.child)!;
    const x1 = a.x + nodeW / 2;
    const y1 = a.y + nodeH;
    const x2 = b.x + nodeW / 2;
    const y2 = b.y;
    const mx = (x1 + x2) / 2;
    const my = (y1 + y2) / 2;
    return `<g class="edge"><title>${esc(`${e.base} → ${e.child}: ${e.label}`)}</title>`
      + `<path class="${e.declared ? 'declared' : ''}" d="M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 6}"/>`
      + `<polygon class="arrow" points="${x2 - 5},${y2 - 8} ${x2 + 5},${y2 - 8} ${x2},${y2}"/>`
      + `<text x="${mx + 6}" y="${my + 4}" class="muted">${esc(e.label)}</text></g>`;
  });
  const boxes = nodes.map((n) => {
    const p = pos.get(n)!;
    const label = n.length > 28 ? `…${n.slice(-27)}` : n;
    const g = `<g class="node"><title>${esc(n)}</title><rect x="${p.x}" y="${p.y}" width="${nodeW}" height="${nodeH}" rx="6"/>`
      + `<text x="${p.x + nodeW / 2}" y="${p.y + 21}" text-anchor="middle">${esc(label)}</text></g>`;
    const h = href(n);
    return h ? `<a href="${esc(h)}">${g}</a>` : g;
  });
  return `<svg class="chart graph" role="img" aria-label="lineage graph" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><title>lineage</title>${lines.join('')}${boxes.join('')}</svg>`;
}

export interface CurvePoint { x: number; y: number; title?: string }

/**
 * A line chart of `points` over a log x axis (a decade per tick; x > 0) and a linear y axis from 0 (or, with
 * `logY` and every y > 0, a log one from the decade below the smallest y), each point
 * also a dot with its title. `chosen` marks an x (a dashed vertical line, labelled `chosenLabel`) or, as
 * 'lossless', says the model has no tolerance. Points with a non-finite y are left out of the line (their
 * titles say why); the svg carries `data-points`, the count drawn.
 */
export function logCurve(title: string, points: readonly CurvePoint[], o: {
  xLabel: string; yLabel: string; fmtY: (n: number) => string; chosen: number | 'lossless'; chosenLabel: string; logY?: boolean;
}): string {
  const H = 260;
  const pad = { l: 64, r: 20, t: 24, b: 44 };
  const pw = W - pad.l - pad.r;
  const ph = H - pad.t - pad.b;
  const drawn = points.filter((p) => p.x > 0 && Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = [...drawn.map((p) => Math.log10(p.x)), ...(typeof o.chosen === 'number' && o.chosen > 0 ? [Math.log10(o.chosen)] : [])];
  let lo = xs.length ? Math.floor(Math.min(...xs)) : -5;
  let hi = xs.length ? Math.ceil(Math.max(...xs)) : -1;
  if (hi <= lo) {
    lo -= 1;
    hi += 1;
  }
  const logY = Boolean(o.logY) && drawn.length > 0 && drawn.every((p) => p.y > 0);
  const top = Math.max(1e-9, ...drawn.map((p) => p.y)) * 1.1;
  const yLo = logY ? Math.floor(Math.log10(Math.min(...drawn.map((p) => p.y)))) : 0;
  const yHi = logY ? Math.max(yLo + 1, Math.ceil(Math.log10(Math.max(...drawn.map((p) => p.y))))) : 0;
  const X = (x: number) => pad.l + ((Math.log10(x) - lo) / (hi - lo)) * pw;
  const Y = (y: number) => pad.t + ph - (logY ? (Math.log10(y) - yLo) / (yHi - yLo) : Math.max(0, y) / top) * ph;
  const f = (n: number) => n.toFixed(1);
  const xTicks: string[] = [];
  for (let d = lo; d <= hi; d++) {
    const x = f(X(10 ** d));
    xTicks.push(`<line class="axis" x1="${x}" y1="${pad.t + ph}" x2="${x}" y2="${pad.t + ph + 4}"/><text x="${x}" y="${pad.t + ph + 17}" text-anchor="middle" class="muted">1e${d}</text>`);
  }
  const yValues = logY ? Array.from({ length: yHi - yLo + 1 }, (_, i) => 10 ** (yLo + i)) : [0, top / 2, top / 1.1];
  const yTicks = yValues.map((v) => `<line class="grid" x1="${pad.l}" y1="${f(Y(v))}" x2="${W - pad.r}" y2="${f(Y(v))}"/>`
    + `<text x="${pad.l - 6}" y="${f(Y(v) + 4)}" text-anchor="end" class="muted">${esc(o.fmtY(v))}</text>`);
  const line = drawn.length ? `<path class="line" d="${drawn.map((p, i) => `${i ? 'L' : 'M'}${f(X(p.x))},${f(Y(p.y))}`).join(' ')}"/>` : '';
  const dots = drawn.map((p) => `<circle class="point" cx="${f(X(p.x))}" cy="${f(Y(p.y))}" r="4"><title>${esc(p.title ?? `${p.x}: ${o.fmtY(p.y)}`)}</title></circle>`);
  let mark: string;
  if (o.chosen === 'lossless' || !(o.chosen > 0)) {
    mark = `<g class="chosen" data-chosen="lossless"><text x="${pad.l + 6}" y="${pad.t - 8}">${esc(o.chosenLabel)}</text></g>`;
  } else {
    const x = f(X(o.chosen));
    const anchor = X(o.chosen) > pad.l + pw / 2 ? 'end' : 'start';
    mark = `<g class="chosen" data-chosen="${esc(o.chosen)}"><title>${esc(o.chosenLabel)}</title><line x1="${x}" y1="${pad.t - 4}" x2="${x}" y2="${pad.t + ph}"/>`
      + `<text x="${anchor === 'end' ? f(X(o.chosen) - 4) : f(X(o.chosen) + 4)}" y="${pad.t - 8}" text-anchor="${anchor}">${esc(o.chosenLabel)}</text></g>`;
  }
  return `<svg class="chart curve" role="img" aria-label="${esc(title)}" data-points="${drawn.length}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}"><title>${esc(title)}</title>`
    + `${yTicks.join('')}<line class="axis" x1="${pad.l}" y1="${pad.t + ph}" x2="${W - pad.r}" y2="${pad.t + ph}"/><line class="axis" x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${pad.t + ph}"/>`
    + `${xTicks.join('')}${mark}${line}${dots.join('')}`
    + `<text x="${pad.l + pw / 2}" y="${H - 6}" text-anchor="middle" class="muted">${esc(o.xLabel)}</text>`
    + `<text x="14" y="${pad.t + ph / 2}" text-anchor="middle" class="muted" transform="rotate(-90 14 ${pad.t + ph / 2})">${esc(o.yLabel)}</text></svg>`;
}
