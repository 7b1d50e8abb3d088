#!/usr/bin/env node
// Entry point of the `neurstore` command: runs the built CLI (dist/), or the TypeScript sources through tsx
// in a checkout that has not been built, or whose build is older than its sources (a stale build would run old
// code, e.g. against a store that newer code wrote).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const sources = fileURLToPath(new URL('../src', import.meta.url));

/** The latest modification time of a .ts file under `dir`. */
function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const useBuilt = existsSync(built) && (!existsSync(sources) || statSync(built).mtimeMs >= newestSource(sources));
let mod;
if (useBuilt) {
  mod = await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  mod = await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
process.exitCode = await mod.main(process.argv.slice(2));
