/**
 * Commits of one registry run side by side (up to 4 at once; only the final transaction is serialized): eight
 * concurrent commits to one branch without a parent all land (each file in the head's tree with its bytes, eight
 * new commits in the history), and eight based on the same parent commit give one commit and seven CONFLICTs
 * (HTTP 412), none lost and none half-written. A TF.js model.json changed alone is still stored as a model with
 * the shard of the parent commit (the parent's siblings are fetched for files in a model format only).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { isNeurStoreError } from '../errors.js';
import { Registry } from './registry.js';

test('concurrent commits to one branch: all land without a parent; from one parent, one lands and the others are CONFLICT', async () => {
  const reg = await Registry.open(tempDir(), { create: true, decodeWorkers: 0 });
  try {
    await reg.createRepo('org/busy');
    const bytes = (i: number) => Buffer.from(`file ${i}\n`.repeat(100 + i));
    await Promise.all(Array.from({ length: 8 }, (_, i) => reg.commit('org/busy', [{ op: 'put', path: `f${i}.txt`, bytes: bytes(i) }], { message: `c${i}` })));
    const head = await reg.resolve('org/busy');
    const files = await reg.files(head);
    assert.deepEqual(files.map((f) => f.path).sort(), Array.from({ length: 8 }, (_, i) => `f${i}.txt`).sort());
    for (let i = 0; i < 8; i++) assert.ok((await reg.fileBytes(await reg.file(head, `f${i}.txt`))).equals(bytes(i)));
    assert.equal((await reg.log('org/busy')).length, 9, 'eight commits on the initial one');

    const parent = head.id;
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) =>
      reg.commit('org/busy', [{ op: 'put', path: `g${i}.txt`, bytes: bytes(i + 10) }], { parentCommit: parent })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(isNeurStoreError(r.reason, 'CONFLICT'), String(r.reason));
    const after = await reg.resolve('org/busy');
    assert.equal(after.parent, parent);
    assert.equal((await reg.files(after)).length, 9);
  } finally {
    await reg.close();
  }
});

test('a TF.js model.json committed alone is stored as a model with the parent commit\'s shard; other files next to binaries stay blobs', async () => {
  ensureFixtures();
  const reg = await Registry.open(tempDir(), { create: true, decodeWorkers: 0 });
  try {
    await reg.createRepo('org/age');
    const json = readFileSync(fixturePath('human-models', 'age.json'));
    const shard = readFileSync(fixturePath('human-models', 'age.bin'));
    await reg.commit('org/age', [{ op: 'put', path: 'tfjs/model.json', bytes: json }, { op: 'put', path: 'tfjs/age.bin', bytes: shard }]);
    const changed = Buffer.from(JSON.stringify(JSON.parse(json.toString()), null, 1));
    assert.ok(!changed.equals(json));
    await reg.commit('org/age', [{ op: 'put', path: 'tfjs/model.json', bytes: changed }]);
    await reg.commit('org/age', [{ op: 'put', path: 'tfjs/notes.txt', bytes: Buffer.from('notes') }]);
    const head = await reg.resolve('org/age');
    const m = await reg.file(head, 'tfjs/model.json');
    assert.equal(m.kind, 'model');
    assert.ok((await reg.fileBytes(m)).equals(changed));
    assert.ok((await reg.fileBytes(await reg.file(head, 'tfjs/age.bin'))).equals(shard));
    assert.equal((await reg.file(head, 'tfjs/notes.txt')).kind, 'blob');
  } finally {
    await reg.close();
  }
});
