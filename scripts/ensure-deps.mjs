#!/usr/bin/env node
// Installs the project's dependencies (`npm ci`) when a fresh clone has none, so that the README's two
// quick-start commands work on their own. Does nothing when node_modules is already installed.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  console.error('neurstore: installing dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
