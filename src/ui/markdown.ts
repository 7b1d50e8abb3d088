/**
 * A small, safe markdown subset for model cards: front matter shown as a code block, ATX headings, fenced code,
 * lists, paragraphs, `code`, **bold**, *italic*, and links whose target is http(s) or relative. Everything is
 * escaped first; no raw HTML passes through.
 */
import { esc } from './html.js';

function inline(text: string): string {
  return esc(text)
    .replace(/&#96;([^&]*?)&#96;/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, '$1<em>$2</em>')
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (all, label: string, href: string) =>
      (/^(https?:\/\/|\/|#)/i.test(href) ? `<a href="${href}" rel="nofollow noopener">${label}</a>` : all));
}

export function markdown(src: string): string {
  const out: string[] = [];
  let lines = src.replace(/\r\n?/g, '\n').split('\n');
  if (lines[0] === '---') {
    const end = lines.indexOf('---', 1);
    if (end > 0) {
      out.push(`<pre class="front-matter"><code>${esc(lines.slice(1, end).join('\n'))}</code></pre>`);
      lines = lines.slice(end + 1);
    }
  }
  let para: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (para.length) out.push(`<p>${inline(para.join(' '))}</p>`);
    if (list.length) out.push(`<ul>${list.map((l) => `<li>${inline(l)}</li>`).join('')}</ul>`);
    para = [];
    list = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) code.push(lines[i]!);
      out.push(`<pre><code>${esc(code.join('\n'))}</code></pre>`);
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    const li = /^\s*[-*+]\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const level = Math.min(6, h[1]!.length + 2);
      out.push(`<h${level}>${inline(h[2]!)}</h${level}>`);
    } else if (li) {
      if (para.length) flush();
      list.push(li[1]!);
    } else if (line.trim() === '') {
      flush();
    } else {
      if (list.length) flush();
      para.push(line.trim());
    }
  }
  flush();
  return out.join('\n');
}
