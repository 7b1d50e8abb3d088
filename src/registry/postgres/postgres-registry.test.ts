/**
 * The hub on a PostgreSQL store (tables hub_* in the store's database): a directory of real model files pushed,
 * logged, tagged and pulled back byte-identical; tokens and their access rules; a damaged row is CORRUPTION; and
 * two Registry instances over one database (two servers): each sees the other's commits, and two commits racing
 * on one branch from the same parent give one commit and one CONFLICT, never a lost commit. Throwaway servers
 * (pg-fixture.ts); skipped only outside CI when PostgreSQL is missing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgFixture } from '../../backend/postgres/testing/pg-fixture.js';
import { isNeurStoreError } from '../../errors.js';
import { ensureFixtures, fixturePath } from '../../../scripts/fetch-fixtures.js';
import { tempDir } from '../../store/testing/temp-dir.js';
import { directoryFiles, pushDirectory } from '../push-directory.js';
import { Registry } from '../registry.js';
import { createToken, findToken, tokenAllows } from '../tokens.js';

ensureFixtures();
const fx = await pgFixture('src/registry/postgres/postgres-registry.test.ts');

/** A model directory of real files: a safetensors model, a TF.js model (json + shard), a card and a config. */
function modelDir(): string {
  const dir = join(tempDir(), 'model');
  mkdirSync(join(dir, 'tfjs'), { recursive: true });
  copyFileSync(fixturePath('human-models', 'age.json'), join(dir, 'tfjs', 'model.json'));
  copyFileSync(fixturePath('human-models', 'age.bin'), join(dir, 'tfjs', 'age.bin'));
  writeFileSync(join(dir, 'README.md'), '---\nbase_model: org/base\n---\n# age\n');
  writeFileSync(join(dir, 'config.json'), '{"model_type":"age"}');
  return dir;
}

if (fx) {
  test('PostgreSQL hub: push real files, log, tag, pull byte-identical, tokens, a damaged row is CORRUPTION', async () => {
    const url = await fx.freshUrl();
    const src = modelDir();
    const pushed = await pushDirectory(url, src, 'org/age', { message: 'first', author: 'tester' });
    assert.deepEqual(pushed.files.map((f) => f.path), await directoryFiles(src));
    assert.deepEqual(Object.fromEntries(pushed.files.map((f) => [f.path, f.kind])),
      { 'README.md': 'blob', 'config.json': 'blob', 'tfjs/age.bin': 'model', 'tfjs/model.json': 'model' });
    assert.deepEqual(pushed.commit.baseModels, ['org/base']);

    const reg = await Registry.open(url);
    try {
      assert.ok(!reg.dir.includes('@') || !/:[^@/]+@/.test(reg.dir), 'no password in the location');
      const log = await reg.log('org/age');
      assert.deepEqual(log.map((c) => c.message), ['first', 'initial commit']);
      await reg.tag('org/age', 'v1');
      await assert.rejects(reg.tag('org/age', 'v1'), (e) => isNeurStoreError(e, 'CONFLICT'), 'tags do not move');
      writeFileSync(join(src, 'config.json'), '{"model_type":"age","v":2}');
      const second = await pushDirectory(url, src, 'org/age', { message: 'second' });
      assert.equal(second.changed.find((c) => c.path === 'tfjs/age.bin')?.reused, true, 'the unchanged model is reused');
      assert.equal((await reg.resolve('org/age', 'v1')).id, pushed.commit.id, 'the tag stays');
      assert.equal((await reg.resolve('org/age')).id, second.commit.id);

      for (const [rev, config] of [['v1', '{"model_type":"age"}'], ['main', '{"model_type":"age","v":2}']] as const) {
        const out = join(tempDir(), `pull-${rev}`);
        await reg.pull('org/age', rev, out);
        assert.deepEqual(await directoryFiles(out), await directoryFiles(src));
        for (const p of ['tfjs/model.json', 'tfjs/age.bin', 'README.md']) {
          assert.ok(readFileSync(join(out, p)).equals(readFileSync(join(src, p))), `${p} at ${rev} is byte-identical`);
        }
        assert.equal(readFileSync(join(out, 'config.json'), 'utf8'), config);
      }
      const f = await reg.file(await reg.resolve('org/age'), 'tfjs/age.bin');
      const range = [];
      for await (const c of await reg.openFile(f, { start: 10, end: 99 })) range.push(c as Buffer);
      assert.ok(Buffer.concat(range).equals(readFileSync(join(src, 'tfjs', 'age.bin')).subarray(10, 100)), 'a byte range of a model file');
      const cfg = await reg.file(await reg.resolve('org/age'), 'config.json');
      const part = [];
      for await (const c of await reg.openFile(cfg, { start: 2, end: 11 })) part.push(c as Buffer);
      assert.equal(Buffer.concat(part).toString(), 'model_type', 'a byte range of a blob');

      const { secret: w } = await createToken(reg.db, 'writer', 'write', 'org/*');
      const { secret: r } = await createToken(reg.db, 'reader', 'read', 'org/age');
      await assert.rejects(createToken(reg.db, 'writer', 'read'), (e) => isNeurStoreError(e, 'INVALID_ARGUMENT'));
      const wt = (await findToken(reg.db, w))!;
      const rt = (await findToken(reg.db, r))!;
      assert.equal(await findToken(reg.db, 'hf_nothing'), undefined);
      assert.ok(tokenAllows(wt, 'org/age', 'write') && tokenAllows(wt, 'org/other', 'read') && !tokenAllows(wt, 'team/x', 'read'));
      assert.ok(tokenAllows(rt, 'org/age', 'read') && !tokenAllows(rt, 'org/age', 'write') && !tokenAllows(rt, 'org/other', 'read'));
      assert.deepEqual((await reg.db.tokens()).map((t) => t.name), ['writer', 'reader']);
      assert.equal(await reg.db.write((tx) => tx.deleteToken('reader')), 1);
      assert.equal(await findToken(reg.db, r), undefined, 'a revoked token is gone');

      await fx.sql(url, `UPDATE neurstore.hub_commits SET message = 'forged' WHERE id = $1`, [second.commit.id]);
      // A server that read the commit before the damage keeps the row it checked (commits never change: the
      // registry caches them); one that reads it now finds the damage.
      const fresh = await Registry.open(url, { readOnly: true });
      try {
        await assert.rejects(fresh.log('org/age'), (e) => isNeurStoreError(e, 'CORRUPTION') && /hub_commits/.test((e as Error).message));
      } finally {
        await fresh.close();
      }
    } finally {
      await reg.close();
    }
  });

  test('PostgreSQL hub: two registries over one database see each other\'s commits; racing commits give one CONFLICT, none lost', async () => {
    const url = await fx.freshUrl();
    const a = await Registry.open(url, { create: true });
    const b = await Registry.open(url);
    try {
      await a.createRepo('org/race');
      assert.equal((await b.repo('org/race')).name, 'org/race', 'B sees the repository A created');
      await assert.rejects(b.createRepo('org/race'), (e) => isNeurStoreError(e, 'CONFLICT'));
      const c1 = await b.commit('org/race', [{ op: 'put', path: 'a.txt', bytes: Buffer.from('from b') }], { message: 'b1' });
      assert.equal((await a.resolve('org/race')).id, c1.commit.id, 'A sees B\'s commit');
      assert.equal((await a.fileBytes(await a.file(await a.resolve('org/race'), 'a.txt'))).toString(), 'from b');

      // Both based on the same head: exactly one wins, the other is CONFLICT (HTTP 412), and nothing is lost.
      for (let round = 0; round < 5; round++) {
        const head = (await a.resolve('org/race')).id;
        const results = await Promise.allSettled([
          a.commit('org/race', [{ op: 'put', path: `a${round}.txt`, bytes: Buffer.from(`a${round}`) }], { message: `a${round}`, parentCommit: head }),
          b.commit('org/race', [{ op: 'put', path: `b${round}.txt`, bytes: Buffer.from(`b${round}`) }], { message: `b${round}`, parentCommit: head }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: one commit wins`);
        assert.ok(isNeurStoreError(lost[0]!.reason, 'CONFLICT'), `round ${round}: the other is CONFLICT: ${String(lost[0]!.reason)}`);
        const newHead = await b.resolve('org/race');
        assert.equal(newHead.parent, head);
        assert.equal(newHead.id, (won[0] as PromiseFulfilledResult<{ commit: { id: string } }>).value.commit.id);
      }
      // Without a parent commit, racing commits both land, one on top of the other: no commit is lost.
      const before = (await a.log('org/race')).length;
      const both = await Promise.all([
        a.commit('org/race', [{ op: 'put', path: 'x.txt', bytes: Buffer.from('x') }], { message: 'x' }),
        b.commit('org/race', [{ op: 'put', path: 'y.txt', bytes: Buffer.from('y') }], { message: 'y' }),
      ]);
      const log = await a.log('org/race');
      assert.equal(log.length, before + 2);
      assert.deepEqual(new Set(log.slice(0, 2).map((c) => c.id)), new Set(both.map((r) => r.commit.id)));
      const files = (await b.files(await b.resolve('org/race'))).map((f) => f.path);
      assert.ok(files.includes('x.txt') && files.includes('y.txt'), 'the head holds both files');
      // A read-only registry reads, and refuses writes.
      const ro = await Registry.open(url, { readOnly: true });
      try {
        assert.equal((await ro.resolve('org/race')).id, log[0]!.id);
        await assert.rejects(ro.createRepo('org/new'), (e) => isNeurStoreError(e, 'CONFLICT'));
      } finally {
        await ro.close();
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
}
