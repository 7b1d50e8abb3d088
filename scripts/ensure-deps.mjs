#!/usr/bin/env node
// Installs the project's dependencies (`npm ci`) when a fresh clone has none, or when what is installed is not
// what package-lock.json asks for (after a pull that changed it), so that the README's two quick-start commands
// work on their own. Does nothing when node_modules matches the lockfile.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url);
const packagesOf = (file) => JSON.parse(readFileSync(new URL(file, root), 'utf8')).packages ?? {};

/** Why node_modules needs installing, or undefined when it holds what the lockfile lists. */
function reasonToInstall() {
  if (!existsSync(new URL('node_modules/.package-lock.json', root))) return 'installing dependencies';
  const wanted = packagesOf('package-lock.json');
  const installed = packagesOf('node_modules/.package-lock.json'); // npm's record of what it installed
  for (const [path, p] of Object.entries(wanted)) {
    if (path === '' || (p.optional && !installed[path])) continue; // the root; optional packages of other platforms
    if (installed[path]?.version !== p.version) return `dependencies changed (${path.replace(/^node_modules\//, '')} ${p.version}); reinstalling`;
  }
  return undefined;
}

const reason = reasonToInstall();
if (reason) {
  console.error(`neurstore: ${reason} (npm ci)...`);
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
