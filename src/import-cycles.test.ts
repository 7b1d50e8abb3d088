/**
 * The modules under src/ import each other as a tree (a DAG): no import cycle, which would make a module's
 * bindings undefined while another one of the cycle is still initializing. Only imports that stay at run time
 * count: `import type` / `export type` lines are erased by TypeScript, and `await import()` is lazy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every .ts file under `dir` (not declaration files). */
function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The run-time relative imports of a module's text: `import ... from './x.js'`, `export ... from`, `import './x.js'`. */
export function runtimeImports(text: string): string[] {
  const out: string[] = [];
  const statement = /^[ \t]*(?:import|export)\s+(?!type[\s{])(?:[^;'"]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) out.push(m[1]!);
  return out;
}

/** The module file a relative specifier names: `./x.js` is `./x.ts` in the sources. */
function target(from: string, spec: string, files: ReadonlySet<string>): string | undefined {
  const p = resolve(dirname(from), spec);
  for (const c of [p.replace(/\.js$/, '.ts'), p.replace(/\.mjs$/, '.mts'), p, `${p}.ts`, join(p, 'index.ts')]) if (files.has(c)) return c;
  return undefined;
}

/** The cycles of a graph, found by depth-first search: one per edge back to a module still being walked, as a path. */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return cycles;
}

test('the graph walk finds a cycle, skips type-only imports and reads multi-line imports', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from './b.js';",
    "export type { C } from './c.js';",
    'import {',
    '  d,',
    '  type D,',
    "} from '../d.js';",
    "export { e } from './e.js';",
    "import './side-effect.js';",
    " * import { notCode } from './comment.js'",
    "const lazy = await import('./lazy.js');",
  ].join('\n');
  assert.deepEqual(runtimeImports(text), ['./a.js', '../d.js', './e.js', './side-effect.js']);
  const g = new Map([['main', ['load', 'help']], ['load', ['main']], ['help', []]]);
  assert.deepEqual(findCycles(g), [['load', 'main', 'load']]);
  assert.deepEqual(findCycles(new Map([['main', ['load', 'ctx']], ['load', ['ctx']], ['ctx', []]])), []);
});

test('no import cycle under src/', () => {
  const files = sources(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = runtimeImports(readFileSync(f, 'utf8')).map((s) => target(f, s, known)).filter((t): t is string => t !== undefined);
    graph.set(f, deps);
  }
  assert.ok(graph.size > 100, `walked ${graph.size} modules`);
  const cycles = findCycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(' -> '));
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});
