/**
 * pushDirectory: a directory's files become one commit (the repository created when missing), .git and .cache
 * skipped; a missing or empty directory fails before any store is created. Oracle: the files written and pulled
 * back, byte for byte, and the messages `neurstore push` printed before the code moved here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNeurStoreError } from '../errors.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { directoryFiles, pushDirectory } from './push-directory.js';
import { Registry } from './registry.js';

const failsWith = (code: 'NOT_FOUND' | 'INVALID_ARGUMENT', message: string | RegExp) => (e: unknown) =>
  isNeurStoreError(e, code) && (typeof message === 'string' ? (e as Error).message === message : message.test((e as Error).message));

test('pushDirectory commits exactly the directory\'s files, creating the repository; pushing again replaces the tree', async () => {
  const root = tempDir();
  const src = join(root, 'src');
  mkdirSync(join(src, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(src, '.git'));
  mkdirSync(join(src, '.cache'));
  const files: Record<string, string> = { 'README.md': '# hi\n', 'config.json': '{"a":1}', 'sub/b.txt': 'b', 'sub/deeper/c.txt': 'c' };
  for (const [p, text] of Object.entries(files)) writeFileSync(join(src, ...p.split('/')), text);
  writeFileSync(join(src, '.git', 'HEAD'), 'ref');
  writeFileSync(join(src, '.cache', 'x'), 'x');
  assert.deepEqual(await directoryFiles(src), ['README.md', 'config.json', 'sub/b.txt', 'sub/deeper/c.txt']);

  const store = join(root, 'store');
  const r = await pushDirectory(store, src, 'org/thing', { message: 'first', author: 'tester', private: true });
  assert.deepEqual(r.files.map((f) => f.path), Object.keys(files).sort());
  assert.equal(r.commit.message, 'first');
  assert.equal(r.commit.author, 'tester');

  writeFileSync(join(src, 'config.json'), '{"a":2}');
  const again = await pushDirectory(store, join(src, 'sub'), 'org/thing', { branch: 'dev' });
  assert.deepEqual(again.files.map((f) => f.path), ['b.txt', 'deeper/c.txt'], 'the branch holds exactly the new directory');

  const reg = await Registry.open(store, { readOnly: true });
  try {
    assert.equal((await reg.db.repo('org/thing'))?.private, true, 'created private');
    const out = join(root, 'out');
    await reg.pull('org/thing', 'main', out);
    for (const [p, text] of Object.entries(files)) assert.equal(readFileSync(join(out, ...p.split('/')), 'utf8'), text, p);
    assert.equal(existsSync(join(out, '.git')), false);
    assert.equal((await reg.resolve('org/thing', 'main')).id, r.commit.id, 'pushing to dev does not move main');
    assert.equal((await reg.resolve('org/thing', 'dev')).id, again.commit.id);
  } finally {
    await reg.close();
  }
});

test('a missing or empty directory, or a bad repository id, fails before a store is created', async () => {
  const root = tempDir();
  const store = join(root, 'store');
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'file'), 'x');
  await assert.rejects(pushDirectory(store, join(root, 'nope'), 'org/a'), failsWith('NOT_FOUND', `no directory ${join(root, 'nope')}`));
  await assert.rejects(pushDirectory(store, join(root, 'file'), 'org/a'), failsWith('NOT_FOUND', `no directory ${join(root, 'file')}`));
  await assert.rejects(pushDirectory(store, join(root, 'empty'), 'org/a'), failsWith('INVALID_ARGUMENT', `directory ${join(root, 'empty')} holds no files to push`));
  await assert.rejects(pushDirectory(store, join(root, 'empty'), 'not-a-repo-id'), failsWith('INVALID_ARGUMENT', /is not namespace\/name/));
  assert.equal(existsSync(store), false, 'no store was created');
});
