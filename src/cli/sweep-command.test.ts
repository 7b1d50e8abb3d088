// `neurstore sweep` through the CLI, registered on the real program the way main.ts will: the table and --json
// output on a real MNIST checkpoint, a .mjs and a .ts metric script written into a temp dir (the .ts one
// computes held-back accuracy, the .mjs one the file's size, an oracle the test knows), and bad flags/scripts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARED_MNIST_DIR, fixturePath } from '../../scripts/fetch-fixtures.js';
import { loadMnistSplit } from '../store/testing/mnist-digits.js';
import { mnistAccuracy, readMnistSafetensors } from '../store/testing/mnist-eval.js';
import { buildProgram, type CliIo } from './main.js';
import { exitCodeOf } from './exit-codes.js';
import { EXIT_CODES } from './exit-codes.js';
import { sweepCommand } from './sweep-command.js';
import { tempDir } from '../store/testing/temp-dir.js';

const MNIST = join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors');

/** Runs the CLI with `sweep` registered (as main.ts will) and captures what it prints. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { out: (l) => (stdout += l + '\n'), err: (t) => (stderr += t), tty: false };
  const program = buildProgram(io);
  if (!program.commands.some((c) => c.name() === 'sweep')) program.addCommand(sweepCommand(io));
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) return { code: ce.exitCode === 0 ? 0 : 2, stdout, stderr };
    return { code: exitCodeOf(e), stdout, stderr: stderr + String((e as Error).message) };
  }
}

test('sweep prints a table, and --json rows with the metric of a .mjs and a .ts eval script', async () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  assert.equal((await run('init', store)).code, 0);
  const sizeScript = join(dir, 'size.mjs');
  writeFileSync(sizeScript, `import { statSync } from 'node:fs';\nexport default async (p) => statSync(p).size;\n`);
  const plain = await run('--store', store, 'sweep', MNIST, '--tolerances', '1e-3,1e-2', '--eval', sizeScript);
  assert.equal(plain.code, 0, plain.stderr);
  const lines = plain.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^TOLERANCE\s+RATIO\s+MAX ERROR\s+METRIC$/);
  assert.equal(lines.length, 3);
  // The written-back file has the original's size: a safetensors file of the same tensors.
  for (const l of lines.slice(1)) assert.match(l, new RegExp(`^1e-[23]\\s+\\d+\\.\\d\\dx\\s+\\S+\\s+${statSync(MNIST).size}$`));

  const accScript = join(dir, 'accuracy.ts');
  const mnist = (f: string) => pathToFileURL(join(import.meta.dirname, '../store/testing', f)).href;
  const fixtures = pathToFileURL(join(import.meta.dirname, '../../scripts/fetch-fixtures.ts')).href;
  writeFileSync(accScript, [
    `import { fixturePath } from '${fixtures}';`,
    `import { loadMnistSplit } from '${mnist('mnist-digits.ts')}';`,
    `import { mnistAccuracy, readMnistSafetensors } from '${mnist('mnist-eval.ts')}';`,
    `const { test } = loadMnistSplit((f: string) => fixturePath('mnist', f));`,
    `export default async (p: string): Promise<number> => { const w = readMnistSafetensors(p); return mnistAccuracy(w.l1, w.l2, test); };`,
  ].join('\n'));
  const json = await run('--store', store, 'sweep', MNIST, '--mode', 'default', '--tolerances', '1e-4, 1e-3', '--eval', accScript, '--json');
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<{ tolerance: number; ratio: number; maxError: number; metric: number }>;
  assert.deepEqual(rows.map((r) => r.tolerance), [1e-4, 1e-3]);
  const original = readMnistSafetensors(MNIST);
  const before = mnistAccuracy(original.l1, original.l2, loadMnistSplit((f) => fixturePath('mnist', f)).test);
  for (const r of rows) {
    assert.ok(r.maxError <= r.tolerance && r.ratio > 1, JSON.stringify(r));
    assert.ok(Math.abs(r.metric - before) <= 0.002, `accuracy ${r.metric} vs ${before} before storing`);
  }
  assert.ok(rows[1]!.ratio > rows[0]!.ratio);
  assert.equal(JSON.parse((await run('--store', store, 'stats', '--json')).stdout).models, 0, 'the sweep stores nothing');
});

test('sweep without --eval shows no metric; bad flags and scripts fail with their exit codes', async () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  await run('init', store);
  const noEval = await run('--store', store, 'sweep', MNIST, '--mode', 'paper', '--tolerances', '1e-3');
  assert.equal(noEval.code, 0, noEval.stderr);
  assert.match(noEval.stdout.split('\n')[1]!, /^1e-3\s+\d+\.\d\dx\s+\S+\s+-$/);

  for (const t of ['0', 'abc', '1e-3,,1e-2', '-1e-3']) {
    const r = await run('--store', store, 'sweep', MNIST, '--tolerances', t);
    assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT, `--tolerances ${t}: ${r.stderr}`);
  }
  assert.equal((await run('--store', store, 'sweep', MNIST, '--mode', 'lossless')).code, 2);
  assert.equal((await run('--store', store, 'sweep', MNIST, '--eval', join(dir, 'missing.mjs'))).code, EXIT_CODES.NOT_FOUND);
  const notFn = join(dir, 'not-fn.mjs');
  writeFileSync(notFn, 'export default 42;\n');
  const bad = await run('--store', store, 'sweep', MNIST, '--eval', notFn);
  assert.equal(bad.code, EXIT_CODES.INVALID_ARGUMENT);
  assert.match(bad.stderr, /default export must be/);
  assert.equal((await run('--store', join(dir, 'nope'), 'sweep', MNIST)).code, EXIT_CODES.NOT_FOUND);
});
