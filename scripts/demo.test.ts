// The commands `npm run demo` ends with work when pasted: the same code builds a default-mode store of the
// fine-tune and its base, and each printed command line runs in a shell from the project root (the demo's
// usual cwd) and from elsewhere, exits 0, prints no warnings and shows what its comment promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from '../src/store/testing/temp-dir.js';
import { FINE_TUNE, MODELS, nextSteps, putDefaultMode } from './demo.js';
import { PROJECT_ROOT, ensureFixtures } from './fetch-fixtures.js';

function sh(line: string, cwd: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', line], { cwd, encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('the three commands the demo prints run as pasted and show the fine-tune, its checked load and the totals', async () => {
  ensureFixtures();
  const store = join(tempDir(), 'demo-store-default');
  const models = MODELS.filter(([name]) => name === 'faceres' || name === FINE_TUNE);
  assert.equal(models.length, 2);
  await putDefaultMode(store, models);

  const steps = nextSteps(store, PROJECT_ROOT);
  const commands = steps.filter((l) => l.startsWith('  ./')).map((l) => l.trim());
  assert.equal(commands.length, 3, steps.join('\n'));
  assert.match(commands[0]!, new RegExp(`^\\./bin/neurstore\\.js --store \\S+ info ${FINE_TUNE}$`));
  assert.match(commands[1]!, / load faceres-deep --mode int8\+delta --check$/);
  assert.match(commands[2]!, / stats$/);

  const info = sh(commands[0]!, PROJECT_ROOT);
  assert.equal(info.code, 0, info.stderr);
  assert.equal(info.stderr, '');
  const deltas = info.stdout.split('\n').filter((l) => /\sdelta\s.*\sfaceres\//.test(l));
  assert.ok(deltas.length > 32, `most float tensors are deltas of faceres's:\n${info.stdout}`);

  const load = sh(commands[1]!, PROJECT_ROOT);
  assert.equal(load.code, 0, load.stderr);
  assert.equal(load.stderr, '');
  const summary = /loaded faceres-deep \(int8\+delta\): 128 tensors, .* max error ([\d.e+-]+)$/m.exec(load.stdout);
  assert.ok(summary, load.stdout);
  assert.ok(Number(summary[1]) > 0 && Number(summary[1]) <= 1e-3 * (1 + 1e-6), `max error ${summary[1]}`);

  const stats = sh(commands[2]!, PROJECT_ROOT);
  assert.equal(stats.code, 0, stats.stderr);
  assert.match(stats.stdout, /^MODELS\s+TENSORS\s+BYTES IN\s+ON DISK\s+RATIO\s+DEDUP HITS\n\s+2\s+256\s/);

  // From another directory the paths are absolute and the same command works.
  const elsewhere = tempDir();
  const far = nextSteps(store, elsewhere).filter((l) => l.includes(' stats')).map((l) => l.trim());
  assert.match(far[0]!, new RegExp(`^${PROJECT_ROOT.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/bin/neurstore\\.js --store `));
  assert.equal(sh(far[0]!, elsewhere).stdout, stats.stdout);
});
