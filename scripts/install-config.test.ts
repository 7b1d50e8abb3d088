// A clean install stays quiet and lasts into npm 12: every dependency the lockfile marks as having an install
// script is reviewed in package.json's `allowScripts` (npm 11 warns about the others, npm 12 skips them), the
// ONNX Runtime CUDA download is denied there rather than by a config key npm 12 drops, and npm warns about
// nothing in this project's configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './fetch-fixtures.js';

const json = (file: string) => JSON.parse(readFileSync(join(PROJECT_ROOT, file), 'utf8')) as Record<string, unknown>;

test('allowScripts reviews every install script in the lockfile, and nothing else', () => {
  const lock = json('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  const allow = (json('package.json') as { allowScripts: Record<string, boolean> }).allowScripts;
  const reviewed = Object.keys(allow).map((k) => k.replace(/(?<=.)@[^@]*$/, '')); // a pinned `name@version` names `name`
  assert.deepEqual([...new Set(withScripts)].sort(), [...new Set(reviewed)].sort());
  assert.equal(allow['onnxruntime-node'], false, 'its install script only downloads the CUDA provider');
  for (const native of ['better-sqlite3', 'zstd-napi']) assert.equal(allow[native], true, `${native} builds or fetches its binary`);
});

test('npm itself prints no warning here (an unknown project .npmrc key such as onnxruntime-node-install would)', () => {
  const r = spawnSync('npm', ['config', 'get', 'allow-scripts'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});
