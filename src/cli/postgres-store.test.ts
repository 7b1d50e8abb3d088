/**
 * The CLI on a PostgreSQL store: `--store postgres://...` and `$NEURSTORE_URL` reach the same store as the
 * library; put, ls, info, get (byte-identical to the original file), rm and gc run on it; a bad
 * `$NEURSTORE_URL` is a usage error naming the variable, and a server that refuses the connection is one line
 * with exit code 7 (IO_ERROR). The hub commands (push, log, tag, pull, token) run on it too, their repositories in
 * the same database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgFixture } from '../backend/postgres/testing/pg-fixture.js';
import { SHARED_MNIST_DIR } from '../../scripts/fetch-fixtures.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { EXIT_CODES } from './exit-codes.js';
import { runCli as run } from './testing/run-cli.js';

const MNIST = join(SHARED_MNIST_DIR, 'model_4bc2046.safetensors');
const fx = await pgFixture('src/cli/postgres-store.test.ts');

async function withEnv<T>(name: string, value: string | undefined, f: () => Promise<T>): Promise<T> {
  const prev = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await f();
  } finally {
    if (prev === undefined) delete process.env[name];
    else process.env[name] = prev;
  }
}

if (fx) {
  test('--store postgres://... and $NEURSTORE_URL: put, ls, info, get byte-identical, rm, gc', async () => {
    const url = await fx.freshUrl();
    const init = await run('init', url);
    assert.equal(init.code, 0, init.stderr);
    const put = await run('--store', url, 'put', MNIST, '--name', 'base');
    assert.equal(put.code, 0, put.stderr);
    await withEnv('NEURSTORE_URL', url, async () => {
      assert.equal((await run('put', MNIST, '--name', 'again')).code, 0);
      const ls = JSON.parse((await run('ls', '--json')).stdout) as Array<{ name: string }>;
      assert.deepEqual(ls.map((m) => m.name).sort(), ['again', 'base']);
      const out = join(tempDir(), 'out.safetensors');
      assert.equal((await run('get', 'again', '-o', out)).code, 0);
      assert.ok(readFileSync(out).equals(readFileSync(MNIST)), 'get from PostgreSQL is byte-identical to the original');
      assert.equal((await run('rm', 'base')).code, 0);
      assert.equal((await run('gc')).code, 0);
      assert.equal((await run('get', 'again', '-o', join(tempDir(), 'again.safetensors'))).code, 0, 'the model sharing every record survives rm + gc');
    });
    // --store wins over the variable.
    await withEnv('NEURSTORE_URL', 'postgres://nobody@127.0.0.1:1/none', async () => {
      const ls = JSON.parse((await run('--store', url, 'ls', '--json')).stdout) as Array<{ name: string }>;
      assert.deepEqual(ls.map((m) => m.name), ['again']);
    });
  });
}

if (fx) {
  test('hub commands on --store postgres://...: push, log, tag, pull byte-identical, token create and list', async () => {
    const url = await fx.freshUrl();
    const src = join(tempDir(), 'model');
    mkdirSync(src);
    writeFileSync(join(src, 'model.safetensors'), readFileSync(MNIST));
    writeFileSync(join(src, 'config.json'), '{"a":1}');
    const push = await run('--store', url, 'push', src, 'team/mnist', '--message', 'first');
    assert.equal(push.code, 0, push.stderr);
    assert.equal((await run('--store', url, 'tag', 'team/mnist', 'v1')).code, 0);
    const log = JSON.parse((await run('--store', url, 'log', 'team/mnist', '--json')).stdout) as { refs: Array<{ name: string }>; commits: Array<{ message: string }> };
    assert.deepEqual(log.commits.map((c) => c.message), ['first', 'initial commit']);
    assert.deepEqual(log.refs.map((r) => r.name).sort(), ['main', 'v1']);
    const out = join(tempDir(), 'pulled');
    const pull = await run('--store', url, 'pull', 'team/mnist@v1', '-o', out);
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok(readFileSync(join(out, 'model.safetensors')).equals(readFileSync(MNIST)), 'pulled from PostgreSQL byte-identical');
    assert.equal(readFileSync(join(out, 'config.json'), 'utf8'), '{"a":1}');
    const token = await run('--store', url, 'token', 'create', '--name', 'ci', '--scope', 'read');
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^hf_[A-Za-z0-9]{37}\n?$/);
    assert.match((await run('--store', url, 'token', 'list')).stdout, /ci/);
  });
}

test('a $NEURSTORE_URL that is not a postgres:// URL is a usage error naming it; a refused connection is one line, exit 7', async () => {
  await withEnv('NEURSTORE_URL', join(tempDir(), 'dir'), async () => {
    const r = await run('ls');
    assert.equal(r.code, EXIT_CODES.INVALID_ARGUMENT);
    assert.match(r.stderr, /NEURSTORE_URL must be a postgres:\/\//);
  });
  const hub = await run('--store', 'postgres://someone:secret@127.0.0.1:1/none', 'log', 'team/model');
  assert.equal(hub.code, EXIT_CODES.IO_ERROR, 'the hub on an unreachable PostgreSQL store: one line, exit 7');
  assert.ok(!hub.stderr.includes('secret'), 'the password is not printed');
  const r = await run('--store', 'postgres://someone:secret@127.0.0.1:1/none', 'ls');
  assert.equal(r.code, EXIT_CODES.IO_ERROR);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.ok(!r.stderr.includes('secret'), 'the password is not printed');
});
