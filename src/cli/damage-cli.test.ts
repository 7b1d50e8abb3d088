/**
 * The no-data-loss guarantees through real `neurstore` processes: exit codes of damage (5), of a full disk (7)
 * and of bad paths (2); a lost manifest deletes nothing and `repair` brings every model back; reads work on a
 * full disk and on read-only media and `rm` + `gc` give space back on a full disk (tmpfs mounts: these need
 * root, and say so when skipped); a get killed with SIGKILL leaves a temporary that the next get deletes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SeededRandom } from '../env/seeded-random.js';
import { sqliteError } from '../backend/sqlite/sqlite-open.js';
import { writeSafetensorsFile } from '../store/testing/safetensors-files.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { EXIT_CODES } from './exit-codes.js';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ENTRY = `import { main } from ${JSON.stringify(MAIN)}; process.exitCode = await main(process.argv.slice(1));`;
const rng = new SeededRandom(4242);
const tmp = tempDir();

function cli(store: string, ...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', '--store', store, ...args], { encoding: 'utf8' });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what}: exit ${r.status}, stderr: ${r.stderr}`);
  return r.stdout;
}

async function model(name: string, floats: number): Promise<string> {
  return writeSafetensorsFile(join(tmp, `${name}.safetensors`), [
    { name: `${name}.w`, dtype: 'F32', shape: [floats], bytes: rng.bytes(floats * 4) },
    { name: `${name}.b`, dtype: 'F32', shape: [64], bytes: rng.bytes(256) },
  ]);
}

const small = await model('small', 4096);
const other = await model('other', 8192);

function storeWith(dir: string, files: Record<string, string>): void {
  ok(cli(dir, 'init', dir), 'init');
  for (const [name, file] of Object.entries(files)) ok(cli(dir, 'put', file, '--name', name), `put ${name}`);
}

function exact(dir: string, name: string, original: string, out = join(tmp, `${name}.out`)): void {
  ok(cli(dir, 'get', name, '-o', out), `get ${name}`);
  assert.ok(readFileSync(out).equals(readFileSync(original)), `${name} is byte-exact`);
}

test('a lost manifest: every command exits 5 and deletes nothing; repair rebuilds it and every model is back', () => {
  const dir = join(tempDir(), 'store');
  storeWith(dir, { small, other });
  const segments = readdirSync(join(dir, 'segments'));
  unlinkSync(join(dir, 'MANIFEST'));
  for (const args of [['gc'], ['ls'], ['put', small, '--name', 'third']]) {
    const r = cli(dir, ...args);
    assert.equal(r.status, EXIT_CODES.CORRUPTION, `${args[0]} exits 5: ${r.stderr}`);
    assert.match(r.stderr, /manifest is missing.*neurstore repair/);
  }
  assert.deepEqual(readdirSync(join(dir, 'segments')), segments, 'no segment file was deleted');
  assert.match(ok(cli(dir, 'repair'), 'repair'), /manifest missing: rebuilt from \d+ segment\(s\)[\s\S]*no damage found/);
  exact(dir, 'small', small);
  exact(dir, 'other', other);
  ok(cli(dir, 'verify'), 'verify after repair');
});

test('a damaged catalog is CORRUPTION (exit 5), not a crash (70); SQLite errors map to our codes', () => {
  const dir = join(tempDir(), 'store');
  storeWith(dir, { small });
  const file = join(dir, 'catalog.sqlite');
  const b = readFileSync(file);
  for (let page = 1024; page < b.length; page += 1024) b[page] = 0xee; // every b-tree page header after the first
  writeFileSync(file, b);
  const r = cli(dir, 'ls');
  assert.equal(r.status, EXIT_CODES.CORRUPTION, r.stderr);
  assert.match(r.stderr, /CORRUPTION: .*catalog/);
  const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
  assert.equal(sqliteError('c.sqlite', 'commit', full).code, 'IO_ERROR');
  assert.equal(sqliteError('c.sqlite', 'read', Object.assign(new Error('x'), { code: 'SQLITE_IOERR_SHORT_READ' })).code, 'IO_ERROR');
  assert.equal(sqliteError('c.sqlite', 'read', Object.assign(new Error('x'), { code: 'SQLITE_CORRUPT_INDEX' })).code, 'CORRUPTION');
  assert.equal(sqliteError('c.sqlite', 'read', Object.assign(new Error('x'), { code: 'SQLITE_BUSY' })).code, 'CONFLICT');
});

test('get -o a directory (existing, or ending in /) writes the model into it under the name it was put with; a path under a file is INVALID_ARGUMENT (exit 2)', () => {
  const dir = join(tempDir(), 'store');
  storeWith(dir, { small });
  const target = join(tmp, 'a-directory');
  mkdirSync(target, { recursive: true });
  ok(cli(dir, 'get', 'small', '-o', target), 'get into a directory');
  assert.deepEqual(readdirSync(target), ['small.safetensors']);
  assert.ok(readFileSync(join(target, 'small.safetensors')).equals(readFileSync(small)), 'byte-exact');
  ok(cli(dir, 'get', 'small', '-o', `${join(tmp, 'made', 'here')}/`), 'get into a directory named with a trailing /');
  assert.deepEqual(readdirSync(join(tmp, 'made', 'here')), ['small.safetensors']);
  const r = cli(dir, 'get', 'small', '-o', join(small, 'x.safetensors'));
  assert.equal(r.status, EXIT_CODES.INVALID_ARGUMENT, r.stderr);
  assert.match(r.stderr, /small\.safetensors is a file, not a directory/);
});

test('a get killed with SIGKILL leaves its temporary; the next get into that directory deletes it', async () => {
  const dir = join(tempDir(), 'store');
  const big = await model('big', 16 * 1024 * 1024); // 64 MB: the get takes long enough to be caught mid-write
  storeWith(dir, { big });
  const outDir = join(tempDir(), 'out');
  mkdirSync(outDir);
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, '--', '--store', dir, 'get', 'big', '-o', join(outDir, 'big.safetensors')]);
  const exited = new Promise<void>((res) => child.on('exit', () => res()));
  const deadline = Date.now() + 60_000;
  while (!readdirSync(outDir).some((f) => f.endsWith('.neurstore-tmp')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
  child.kill('SIGKILL');
  await exited;
  const left = readdirSync(outDir).filter((f) => f.endsWith('.neurstore-tmp'));
  assert.equal(left.length, 1, `the killed get left its temporary (saw ${readdirSync(outDir).join(', ')})`);
  exact(dir, 'big', big, join(outDir, 'again.safetensors'));
  assert.deepEqual(readdirSync(outDir).filter((f) => f.endsWith('.neurstore-tmp')), [], 'the stale temporary is gone');
});

/** A fresh tmpfs of `bytes`, or the reason none can be mounted here (not root, no mount). */
function mountTmpfs(bytes: number): { dir: string; unmount(): void } | string {
  const dir = join(tempDir(), 'mnt');
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs here (${(r.stderr || String(r.error)).trim()}): needs root`;
  return { dir, unmount: () => void spawnSync('umount', ['-l', dir]) };
}

function fillDisk(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024, 7);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `fill-${i}`), chunk);
    } catch {
      break;
    }
  }
  for (let n = 4096; n >= 1; n >>= 1) {
    try {
      writeFileSync(join(dir, `fill-tail-${n}`), Buffer.alloc(n));
    } catch { /* full to the byte */ }
  }
}

/** The commands that only read: they work where nothing can be written. */
function readsWork(dir: string): void {
  assert.match(ok(cli(dir, 'ls'), 'ls'), /small/);
  ok(cli(dir, 'info', 'small'), 'info');
  ok(cli(dir, 'stats'), 'stats');
  ok(cli(dir, 'verify'), 'verify');
  exact(dir, 'small', small);
}

test('on a 100% full disk: ls, info, stats, get and verify work; rm and gc give space back; put fails with exit 7', (t) => {
  const m = mountTmpfs(8 * 1024 * 1024);
  if (typeof m === 'string') return t.skip(m);
  try {
    const dir = join(m.dir, 'store');
    storeWith(dir, { small, other });
    fillDisk(m.dir);
    readsWork(dir);
    const put = cli(dir, 'put', other, '--name', 'third');
    assert.equal(put.status, EXIT_CODES.IO_ERROR, `put on a full disk: ${put.stderr}`);
    ok(cli(dir, 'rm', 'other'), 'rm on a full disk');
    ok(cli(dir, 'gc'), 'gc on a full disk');
    assert.doesNotMatch(ok(cli(dir, 'ls'), 'ls'), /other/);
    exact(dir, 'small', small);
  } finally {
    m.unmount();
  }
});

test('on read-only media: ls, info, stats, get and verify work; put is IO_ERROR (exit 7)', (t) => {
  const m = mountTmpfs(8 * 1024 * 1024);
  if (typeof m === 'string') return t.skip(m);
  try {
    const dir = join(m.dir, 'store');
    storeWith(dir, { small });
    const ro = spawnSync('mount', ['-o', 'remount,ro', m.dir], { encoding: 'utf8' });
    assert.equal(ro.status, 0, ro.stderr);
    readsWork(dir);
    const put = cli(dir, 'put', other, '--name', 'x');
    assert.equal(put.status, EXIT_CODES.IO_ERROR, put.stderr);
    assert.doesNotMatch(ok(cli(dir, 'ls'), 'ls'), /\bx\b/);
  } finally {
    m.unmount();
  }
});
