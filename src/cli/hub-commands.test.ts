/**
 * The hub commands through the CLI, in-process: push a real model folder, pull it back byte-identical
 * (by branch, tag and commit id), log, tag, a lossy fine-tune pushed to a second repository and the lineage
 * found between them (declared in the card and from shared tensors, with bytes saved), token create, and bad
 * input answered with one line and the documented exit code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli as run } from './testing/run-cli.js';
import { EXIT_CODES } from './exit-codes.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { MNIST_FAMILY_DIR, ensureMnistFamily } from '../../scripts/mnist-family.js';

ensureFixtures();

test('push, pull, log, tag, lineage, token through the CLI', async () => {
  await ensureMnistFamily(); // the MNIST family: a trained base and fine-tunes of it (cached in .cache/)
  const dir = tempDir();
  const store = join(dir, 'store');
  const base = join(dir, 'base');
  mkdirSync(join(base, 'tfjs'), { recursive: true });
  copyFileSync(join(MNIST_FAMILY_DIR, 'base.safetensors'), join(base, 'model.safetensors'));
  copyFileSync(fixturePath('human-models', 'age.json'), join(base, 'tfjs', 'model.json'));
  copyFileSync(fixturePath('human-models', 'age.bin'), join(base, 'tfjs', 'age.bin'));
  writeFileSync(join(base, 'config.json'), '{"hidden":128}\n');

  const push = await run('--store', store, 'push', base, 'org/mnist', '--message', 'first');
  assert.equal(push.code, 0, push.stderr);
  assert.match(push.stdout, /model\.safetensors\s+model/);
  assert.match(push.stdout, /config\.json\s+blob/);
  assert.match(push.stdout, /committed [0-9a-f]{40} to org\/mnist@main: 4 files/);
  const first = /committed ([0-9a-f]{40})/.exec(push.stdout)![1]!;
  assert.equal((await run('--store', store, 'tag', 'org/mnist', 'v1')).code, 0);

  writeFileSync(join(base, 'config.json'), '{"hidden":128,"v":2}\n');
  assert.equal((await run('--store', store, 'push', base, 'org/mnist', '--message', 'second')).code, 0);
  const log = await run('--store', store, 'log', 'org/mnist');
  assert.deepEqual(log.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).slice(-1)[0]), ['second', 'first', 'commit']);
  assert.match(log.stdout, new RegExp(`${first} \\(tag: v1\\)`));

  for (const rev of ['', '@v1', `@${first}`]) {
    const out = join(dir, `out${rev.length}`);
    const pull = await run('--store', store, 'pull', `org/mnist${rev}`, '-o', out);
    assert.equal(pull.code, 0, pull.stderr);
    for (const f of ['model.safetensors', 'tfjs/model.json', 'tfjs/age.bin']) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(base, f))), `${rev} ${f}`);
    assert.equal(readFileSync(join(out, 'config.json'), 'utf8'), rev ? '{"hidden":128}\n' : '{"hidden":128,"v":2}\n');
    assert.deepEqual(readdirSync(out).sort(), ['config.json', 'model.safetensors', 'tfjs']);
  }

  // A fine-tune of the same network, stored lossy against the base's tensors, declaring its base in the card.
  const ft = join(dir, 'ft');
  mkdirSync(ft);
  copyFileSync(join(MNIST_FAMILY_DIR, 'more-epochs.safetensors'), join(ft, 'model.safetensors'));
  writeFileSync(join(ft, 'README.md'), '---\nbase_model:\n  - org/mnist\n---\nfine-tune\n');
  const pushFt = await run('--store', store, 'push', ft, 'org/mnist-ft', '--tolerance', '1e-3');
  assert.equal(pushFt.code, 0, pushFt.stderr);
  const pulled = join(dir, 'ft-out');
  assert.equal((await run('--store', store, 'pull', 'org/mnist-ft', '-o', pulled)).code, 0);
  const values = (file: string) => {
    const bytes = readFileSync(file);
    const start = 8 + Number(bytes.readBigUInt64LE(0)); // safetensors: header length, header, then the F32 data
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + bytes.length));
  };
  const a = values(join(ft, 'model.safetensors'));
  const b = values(join(pulled, 'model.safetensors'));
  assert.equal(a.length, b.length);
  assert.ok(a.every((x, i) => Math.abs(x - b[i]!) <= 1e-3), 'every element within the tolerance');
  const lineage = JSON.parse((await run('--store', store, 'lineage', 'org/mnist-ft', '--json')).stdout) as { edges: Array<{ base: string; child: string; declared: boolean; bytesSaved: number }> };
  const edge = lineage.edges.find((e) => e.base === 'org/mnist' && e.child === 'org/mnist-ft');
  assert.ok(edge?.declared, JSON.stringify(lineage));
  assert.ok(edge.bytesSaved > 0, `the fine-tune's tensors are stored against the base's: ${JSON.stringify(edge)}`);
  const tree = await run('--store', store, 'lineage', 'org/mnist');
  assert.match(tree.stdout, /^org\/mnist \*\n {2}└─ org\/mnist-ft {2}\(base_model/);

  const token = await run('--store', store, 'token', 'create', '--name', 'ci', '--scope', 'read', '--repo', 'org/*');
  assert.equal(token.code, 0, token.stderr);
  assert.match(token.stdout, /^hf_[A-Za-z0-9]{37}\n$/);
  assert.match((await run('--store', store, 'token', 'list')).stdout, /ci\s+read\s+org\/\*/);
  assert.doesNotMatch((await run('--store', store, 'token', 'list')).stdout, /hf_/);

  const bad = [
    [['pull', 'org/none', '-o', join(dir, 'x')], EXIT_CODES.NOT_FOUND, /repository 'org\/none' not found/],
    [['pull', 'org/mnist@nope', '-o', join(dir, 'x')], EXIT_CODES.NOT_FOUND, /revision 'nope' not found/],
    [['push', base, 'not-a-repo'], EXIT_CODES.INVALID_ARGUMENT, /is not namespace\/name/],
    [['push', join(dir, 'missing'), 'org/x'], EXIT_CODES.NOT_FOUND, /no directory/],
    [['tag', 'org/mnist', 'v1'], EXIT_CODES.CONFLICT, /tag 'v1' already exists/],
    [['tag', 'org/mnist', '../x'], EXIT_CODES.INVALID_ARGUMENT, /tag name/],
  ] as const;
  for (const [args, code, message] of bad) {
    const r = await run('--store', store, ...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
