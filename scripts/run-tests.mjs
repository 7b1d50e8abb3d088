#!/usr/bin/env node
// Runs every *.test.ts under src/, test/, scripts/ and bench/ with Node's test runner through tsx.
// Node 20 does not expand globs in `--test`, so the file list is built here.
// Extra arguments are passed through (e.g. a file filter: `npm test -- engine`).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir, out) {
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
let files = ['src', 'test', 'scripts', 'bench'].flatMap((d) => walk(d, [])).sort();
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (!files.length) { console.error('no test files matched'); process.exit(1); }
// A test that fails to finish (a hang, a leaked handle) fails after 10 minutes instead of stalling the run, and
// the runner exits when the last test ends even if something still holds the event loop.
const guard = ['--test-timeout=600000', '--test-force-exit'];
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...guard, ...flags, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
