/**
 * `neurstore copy` through the CLI: directory -> directory (and directory -> PostgreSQL -> directory when a server
 * can be started): `get` from the destination gives the file that was put, a second run skips everything, `--json`
 * says what was copied, a name taken by other content is CONFLICT (exit 4) with nothing written, the same store on
 * both sides is INVALID_ARGUMENT (exit 2), an unknown model NOT_FOUND (exit 3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SeededRandom } from '../env/seeded-random.js';
import { writeSafetensorsFile } from '../store/testing/safetensors-files.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { pgFixture } from '../backend/postgres/testing/pg-fixture.js';
import { EXIT_CODES } from './exit-codes.js';
import { runCli as run } from './testing/run-cli.js';

// Started before any test is registered: a test registered after the others have run would never run.
const pg = await pgFixture('copy-command.test.ts');
const rng = new SeededRandom(4242);
const tmp = tempDir();
const model = await writeSafetensorsFile(join(tmp, 'm.safetensors'), [
  { name: 'w', dtype: 'F32', shape: [128, 64], bytes: new Uint8Array(new Float32Array(128 * 64).map(() => rng.gaussian() * 0.05).buffer) },
  { name: 'b', dtype: 'F32', shape: [64], bytes: rng.bytes(256) },
]);
const other = await writeSafetensorsFile(join(tmp, 'other.safetensors'), [{ name: 'x', dtype: 'U8', shape: [1000], bytes: rng.bytes(1000) }]);

async function ok(...args: string[]): Promise<string> {
  const r = await run(...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A source store holding `m` (lossless) and `m-lossy` (default mode). */
async function source(): Promise<string> {
  const src = join(tempDir(), 'src');
  await ok('init', src);
  await ok('--store', src, 'put', model, '--name', 'm');
  await ok('--store', src, 'put', model, '--name', 'm-lossy', '--tolerance', '1e-3');
  return src;
}

async function assertGetsEqual(a: string, b: string, names: readonly string[]): Promise<void> {
  const out = tempDir();
  for (const name of names) {
    await ok('--store', a, 'get', name, '-o', join(out, `${name}.a.safetensors`));
    await ok('--store', b, 'get', name, '-o', join(out, `${name}.b.safetensors`));
    assert.ok(readFileSync(join(out, `${name}.a.safetensors`)).equals(readFileSync(join(out, `${name}.b.safetensors`))), name);
  }
  assert.ok(readFileSync(join(out, 'm.b.safetensors')).equals(readFileSync(model)), 'the lossless model is the file put');
}

test('copy DIR -> DIR: byte-identical gets, a second run skips, --json, CONFLICT writes nothing, bad uses', async () => {
  const src = await source();
  const dst = join(tempDir(), 'dst');
  const first = await ok('copy', '--from', src, '--to', dst);
  assert.match(first, /^copied m: \d+ record\(s\) written/m);
  assert.match(first, /^copied m-lossy: /m);
  assert.match(first, /^2 model\(s\) copied, 0 skipped, .* written to /m);
  await assertGetsEqual(src, dst, ['m', 'm-lossy']);
  assert.equal(await ok('--store', dst, 'info', 'm-lossy', '--json'), await ok('--store', src, 'info', 'm-lossy', '--json'));
  await ok('--store', dst, 'verify');

  const again = JSON.parse(await ok('copy', '--from', src, '--to', dst, '--json')) as { copied: number; skipped: number; models: Array<{ status: string }> };
  assert.equal(again.copied, 0);
  assert.equal(again.skipped, 2);
  assert.deepEqual(again.models.map((m) => m.status), ['skipped', 'skipped']);

  // --from defaults to the store; a name taken by other content.
  const clash = join(tempDir(), 'clash');
  await ok('init', clash);
  await ok('--store', clash, 'put', other, '--name', 'm');
  const before = await ok('--store', clash, 'stats', '--json');
  const c = await run('--store', src, 'copy', '--to', clash);
  assert.equal(c.code, EXIT_CODES.CONFLICT, c.stderr);
  assert.match(c.stderr, /^neurstore: CONFLICT: .*'m'/);
  assert.equal(await ok('--store', clash, 'stats', '--json'), before, 'nothing written');
  assert.match(await ok('--store', src, 'copy', '--to', clash, 'm-lossy'), /^1 model\(s\) copied/m);

  const same = await run('copy', '--from', src, '--to', src);
  assert.equal(same.code, EXIT_CODES.INVALID_ARGUMENT, same.stderr);
  const missing = await run('copy', '--from', src, '--to', dst, 'nope');
  assert.equal(missing.code, EXIT_CODES.NOT_FOUND, missing.stderr);
  assert.match(missing.stderr, /'nope'/);
});

if (pg) {
  test('copy DIR -> postgres:// -> DIR: byte-identical gets, resumable', async () => {
    const src = await source();
    const url = await pg.freshUrl();
    await ok('copy', '--from', src, '--to', url);
    await assertGetsEqual(src, url, ['m', 'm-lossy']);
    assert.match(await ok('copy', '--from', src, '--to', url), /^0 model\(s\) copied, 2 skipped/m);
    const back = join(tempDir(), 'back');
    await ok('copy', '--from', url, '--to', back, 'm-lossy', 'm');
    await assertGetsEqual(src, back, ['m', 'm-lossy']);
    await ok('--store', back, 'verify');
  });
}
