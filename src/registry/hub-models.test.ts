/**
 * Hub model files served through `NeurStore.write`: a member of a two-file TF.js model streams back byte-exact
 * (whole and as a range), and a reader that goes away stops the store's write between tensors (CANCELLED)
 * even while another member is being written. Oracle: the fixture files that were put.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { isNeurStoreError } from '../errors.js';
import { ensureFixtures, fixturePath } from '../../scripts/fetch-fixtures.js';
import { NeurStore } from '../store/neur-store.js';
import { tempDir } from '../store/testing/temp-dir.js';
import { memberIdentities, memberStream } from './hub-models.js';
import type { HubModelRow } from './registry-db.js';

ensureFixtures();

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The human-models age model (model.json + age.bin) copied into a fresh directory, with its files' bytes. */
function ageModel(): { dir: string; json: Buffer; bin: Buffer } {
  const dir = tempDir();
  copyFileSync(fixturePath('human-models', 'age.json'), join(dir, 'model.json'));
  copyFileSync(fixturePath('human-models', 'age.bin'), join(dir, 'age.bin'));
  return { dir, json: readFileSync(join(dir, 'model.json')), bin: readFileSync(join(dir, 'age.bin')) };
}

test('memberStream: a TF.js shard comes back byte-exact; a reader that goes away cancels the store write', async () => {
  const { dir, json, bin } = ageModel();
  const store = await NeurStore.init(join(dir, 'store'));
  try {
    await store.put(join(dir, 'model.json'), { name: 'age' });
    const draft: HubModelRow = { name: 'age', format: 'tfjs', architecture: 'unused', members: [] };
    const members = await memberIdentities(store, draft, new Map([['', json.length], ['age.bin', bin.length]]));
    assert.deepEqual(members.map((m) => m.size), [json.length, bin.length]);
    const model = { ...draft, members };
    const shard = members[1]!.member;
    assert.deepEqual(await bytesOf(memberStream(store, model, shard)), bin);
    assert.deepEqual(await bytesOf(memberStream(store, model, shard, { start: 10, end: 99 })), bin.subarray(10, 100));

    // The reader goes away while model.json (not asked for) is being written: the write ends CANCELLED at the
    // next tensor, before any byte of the shard is produced.
    const write = store.write.bind(store);
    let outcome: Promise<unknown> | undefined;
    let stream: Readable | undefined;
    store.write = (name, sink, options) => {
      const watched = {
        create: async (file: string) => {
          if (stream && !stream.destroyed) {
            const closed = new Promise((resolve) => stream!.once('close', resolve));
            stream.destroy();
            await closed;
          }
          return sink.create(file);
        },
      };
      const p = write(name, watched, options);
      outcome = p.then(() => 'finished', (e: unknown) => e);
      return p;
    };
    stream = memberStream(store, model, shard);
    stream.on('error', () => undefined);
    assert.ok(outcome);
    const result = await outcome;
    assert.ok(isNeurStoreError(result, 'CANCELLED'), `the write was cancelled, not: ${String(result)}`);
    store.write = write;
    assert.deepEqual(await bytesOf(memberStream(store, model, shard)), bin, 'the store serves the shard again');
  } finally {
    await store.close();
  }
});

test('memberStream of a model stored in chunks (decoded into recycled buffers): whole and ranges across chunks, byte-exact', async () => {
  const { dir, json, bin } = ageModel();
  const store = await NeurStore.init(join(dir, 'store'), { chunkBytes: 16 * 1024 });
  try {
    const put = await store.put(join(dir, 'model.json'), { name: 'age' });
    assert.ok(put.tensors.filter((t) => t.codec === 'chunked').length >= 2, 'several tensors are chunked');
    const draft: HubModelRow = { name: 'age', format: 'tfjs', architecture: 'unused', members: [] };
    const members = await memberIdentities(store, draft, new Map([['', json.length], ['age.bin', bin.length]]));
    const model = { ...draft, members };
    const shard = members[1]!.member;
    assert.deepEqual(await bytesOf(memberStream(store, model, shard)), bin);
    for (const [start, end] of [[0, 16 * 1024], [5000, 70_000], [bin.length - 40_000, bin.length - 1]] as const) {
      assert.deepEqual(await bytesOf(memberStream(store, model, shard, { start, end })), bin.subarray(start, end + 1), `bytes ${start}-${end}`);
    }
  } finally {
    await store.close();
  }
});
