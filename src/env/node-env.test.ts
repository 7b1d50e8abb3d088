// NodeEnv reads: synchronous preads up to 1 MiB, thread-pool reads above; both give the file's bytes at any
// offset (oracle: the whole file read with readFileSync), fresh memory each time, and a short read is IO_ERROR.
// Appends larger than the 64 KiB write slice land whole and in order, through synchronous writes and (once a
// file was slow) the thread pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SeededRandom } from './seeded-random.js';
import { NodeEnv } from './node-env.js';
import { isNeurStoreError } from '../errors.js';

test('reads below and above the 1 MiB synchronous limit match the file, in memory the caller owns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-env-'));
  try {
    const r = new SeededRandom(5);
    const path = join(dir, 'data.bin');
    writeFileSync(path, Uint8Array.from({ length: 3 << 20 }, () => r.int(256)));
    const whole = readFileSync(path);
    const f = await new NodeEnv().openRead(path);
    try {
      for (const [offset, length] of [[0, 0], [0, 1], [7, 4096], [12345, 1 << 20], [1, (1 << 20) + 1], [999, 2 << 20], [0, 3 << 20]]) {
        const got = await f.read(offset!, length!);
        assert.equal(got.length, length, `length at ${offset}`);
        assert.ok(Buffer.from(got).equals(whole.subarray(offset!, offset! + length!)), `bytes ${offset}+${length}`);
      }
      const a = await f.read(0, 64);
      const b = await f.read(0, 64);
      a.fill(0);
      assert.ok(Buffer.from(b).equals(whole.subarray(0, 64)), 'two reads share no memory');
      for (const length of [64, 2 << 20]) {
        const into = new Uint8Array(length);
        const got = await f.read(5, length, into);
        assert.equal(got.buffer, into.buffer, `read into the caller's memory (${length} bytes)`);
        assert.ok(Buffer.from(got).equals(whole.subarray(5, 5 + length)), `bytes read into memory given (${length})`);
      }
      for (const length of [16, 2 << 20]) {
        await assert.rejects(f.read((3 << 20) - 8, length), (e) => isNeurStoreError(e, 'IO_ERROR') && /short read/.test((e as Error).message));
      }
    } finally {
      await f.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('appends below and above the 64 KiB write slice leave the bytes appended, in order, synchronous or not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'neurstore-env-'));
  try {
    const r = new SeededRandom(6);
    const parts = [1, (1 << 16) - 1, 1 << 16, (1 << 16) + 1, (1 << 20) + 1, (5 << 20) + 3, 0, 77].map((n) => Uint8Array.from({ length: n }, () => r.int(256)));
    // The default writes synchronously here (the page cache is quick); slowSyncMs 0 sends all but the first
    // append to the thread pool, and large reads there too.
    for (const env of [new NodeEnv(), new NodeEnv({ slowSyncMs: 0 })]) {
      const path = join(dir, 'out.bin');
      rmSync(path, { force: true });
      const f = await env.openAppend(path);
      try {
        for (const p of parts) await f.append(p);
        assert.ok(Buffer.from(await f.read(3, (6 << 20) - 5)).equals(Buffer.concat(parts).subarray(3, (6 << 20) - 2)), 'a large read of it');
      } finally {
        await f.close();
      }
      assert.ok(readFileSync(path).equals(Buffer.concat(parts)), 'the file holds the parts, in order');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
