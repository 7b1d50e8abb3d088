import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli as run } from './testing/run-cli.js';
import { EXIT_CODES } from './exit-codes.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';

const MNIST = join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors');

test('init, put, ls, info, get, stats, rm, gc through the CLI', async () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  assert.equal((await run('init', store)).code, 0);
  const put = await run('--store', store, 'put', MNIST, '--name', 'digits', '--tag', 'task=mnist', '--tag', 'run=7');
  assert.equal(put.code, 0, put.stderr);
  assert.match(put.stdout, /stored digits \(lossless\): 2 tensors/);
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'digits-copy')).code, 0);

  const ls = JSON.parse((await run('--store', store, 'ls', '--json')).stdout) as Array<{ name: string; tags: Record<string, string> }>;
  assert.deepEqual(ls.map((m) => m.name), ['digits', 'digits-copy']);
  assert.deepEqual(ls[0]!.tags, { run: '7', task: 'mnist' });
  assert.match((await run('--store', store, 'ls')).stdout, /digits\s+safetensors\s+2/);

  const info = JSON.parse((await run('--store', store, 'info', 'digits-copy', '--json')).stdout) as { tensors: Array<{ storedAs: string; shape: number[] }> };
  assert.deepEqual(info.tensors.map((t) => t.storedAs), ['duplicate', 'duplicate']);
  assert.deepEqual(info.tensors[0]!.shape, [128, 784]);

  const out = join(dir, 'back.safetensors');
  assert.equal((await run('--store', store, 'get', 'digits', '-o', out)).code, 0);
  assert.deepEqual(readFileSync(out), readFileSync(MNIST));

  const stats = JSON.parse((await run('--store', store, 'stats', '--json')).stdout) as { models: number; dedupHits: number; bytesIn: number };
  assert.equal(stats.models, 2);
  assert.equal(stats.dedupHits, 2);
  assert.equal(stats.bytesIn, 2 * readFileSync(MNIST).length);

  assert.equal((await run('--store', store, 'rm', 'digits')).code, 0);
  assert.match((await run('--store', store, 'gc')).stdout, /reclaimed/);
  assert.equal((await run('--store', store, 'get', 'digits-copy', '-o', out)).code, 0);
  assert.deepEqual(readFileSync(out), readFileSync(MNIST));
});

test('errors print one line naming the problem and exit with the code of their kind', async () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  const missingStore = await run('--store', join(dir, 'none'), 'ls');
  assert.equal(missingStore.code, EXIT_CODES.NOT_FOUND);
  assert.match(missingStore.stderr, /^neurstore: NOT_FOUND: no NeurStore at .*neurstore init/);
  await run('init', store);
  const bad = join(dir, 'bad.bin');
  writeFileSync(bad, 'definitely not a model');
  const r = await run('--store', store, 'put', bad, '--name', 'x');
  assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT);
  assert.match(r.stderr, /not a model in any known format/);
  assert.equal((await run('--store', store, 'info', 'nope')).code, EXIT_CODES.NOT_FOUND);
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'a', '--tag', 'novalue')).code, EXIT_CODES.INVALID_ARGUMENT);
  await run('--store', store, 'put', MNIST, '--name', 'a');
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'a')).code, EXIT_CODES.CONFLICT);
  assert.equal((await run('--store', store, 'put', MNIST)).code, 2, 'a missing required option is a usage error');
});

test('the store directory comes from --store, else $NEURSTORE_DIR', async () => {
  const dir = tempDir();
  const prev = process.env.NEURSTORE_DIR;
  process.env.NEURSTORE_DIR = join(dir, 'env-store');
  try {
    assert.equal((await run('init')).code, 0);
    assert.equal((await run('put', MNIST, '--name', 'via-env')).code, 0);
    const ls = JSON.parse((await run('--store', join(dir, 'env-store'), 'ls', '--json')).stdout) as Array<{ name: string }>;
    assert.deepEqual(ls.map((m) => m.name), ['via-env']);
  } finally {
    if (prev === undefined) delete process.env.NEURSTORE_DIR;
    else process.env.NEURSTORE_DIR = prev;
  }
});

test('put --mode/--tolerance/--dry-run report ratio and max error; bad values are usage errors', async () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  await run('init', store);
  const dry = await run('--store', store, 'put', MNIST, '--name', 'd', '--tolerance', '0.01', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would store d \(default, tolerance 0\.01\)/);
  assert.equal(JSON.parse((await run('--store', store, 'ls', '--json')).stdout).length, 0, 'a dry run stores nothing');
  const paper = JSON.parse((await run('--store', store, 'put', MNIST, '--name', 'p', '--mode', 'paper', '--tolerance', '0.01', '--json')).stdout) as {
    mode: string; maxError: number; tensors: Array<{ storedAs: string; bits: number }>;
  };
  assert.equal(paper.mode, 'paper');
  assert.ok(paper.maxError > 0 && paper.maxError <= 0.01);
  assert.ok(paper.tensors.every((t) => t.storedAs === 'paper-base' && t.bits > 0));
  const info = JSON.parse((await run('--store', store, 'info', 'p', '--json')).stdout) as { tensors: Array<{ base?: string }> };
  assert.deepEqual(info.tensors.map((t) => t.base), ['p/l1.weight', 'p/l2.weight'], 'info names each base');
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'x', '--tolerance', '-1')).code, 2);
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'x', '--mode', 'zip')).code, 2);
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'x', '--mode', 'lossless', '--tolerance', '0.1')).code, 2);
});

test('load --mode/--check/--session report forms, memory and errors against the exact tensors', async () => {
  const store = join(tempDir(), 'store');
  assert.equal((await run('init', store)).code, 0);
  assert.equal((await run('--store', store, 'put', MNIST, '--name', 'digits', '--mode', 'default')).code, 0);
  const r = await run('--store', store, 'load', 'digits', '--mode', 'int8+delta', '--tolerance', '1e-3', '--check', '--json');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as { tensors: number; memoryBytes: number; maxError: number; rows: Array<{ form: string; maxError: number }> };
  assert.equal(j.tensors, 2);
  assert.ok(j.rows.every((x) => x.form.startsWith('int8+delta')), JSON.stringify(j.rows.map((x) => x.form)));
  assert.ok(j.maxError > 0 && j.maxError <= 1e-3 * (1 + 1e-6), `max error ${j.maxError}`);
  assert.ok(j.memoryBytes < readFileSync(MNIST).length / 2, 'int8+delta holds under half the fp32 bytes');
  const text = await run('--store', store, 'load', 'digits', '--mode', 'fp16', '--check');
  assert.match(text.stdout, /l1\.weight\s+F32\s+\[128, 784\]\s+f16/);
  assert.match(text.stdout, /loaded digits \(fp16\): 2 tensors/);
  assert.equal((await run('--store', store, 'load', 'digits', '--session')).code, EXIT_CODES.NOT_SUPPORTED);
  assert.equal((await run('--store', store, 'load', 'digits', '--mode', 'int4')).code, EXIT_CODES.INVALID_ARGUMENT);
});
