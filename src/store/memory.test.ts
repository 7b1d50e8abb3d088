/**
 * Bounded memory, measured in a process of its own: putting (twice) and getting a model many times the chunked
 * path's working set (chunk size x chunks in flight), in one tensor or in many, raises the process's peak RSS by
 * far less than the model's size. A path that held the one-tensor model's tensor whole would need at least its size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { tempDir } from './testing/temp-dir.js';

const SIZE = 384 * 1024 * 1024;
const CHUNK = 2 * 1024 * 1024;

/** Runs rss-child.ts; checks the bytes came back and the peak RSS grew by less than half the model's size. */
function bounded(size: number, chunk: number, tensors: number): void {
  const child = fileURLToPath(new URL('./testing/rss-child.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, tempDir(), String(size), String(chunk), String(tensors)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { before, peak, exact } = JSON.parse(r.stdout.trim().split('\n').pop()!) as { before: number; peak: number; exact: boolean };
  assert.ok(exact, 'the model read back byte-exact');
  const grew = peak - before;
  assert.ok(grew < size / 2, `peak RSS grew by ${(grew / 2 ** 20).toFixed(0)} MiB over ${(before / 2 ** 20).toFixed(0)} MiB, for a ${size / 2 ** 20} MiB model`);
}

test('put, put again (all dedup) and get of a 384 MB tensor in 2 MiB chunks stay far below the model size in peak RSS, byte-exact', () => {
  bounded(SIZE, CHUNK, 1);
});

test('so do they for 32 tensors of one chunk each (a put again took one chunk per tensor to rank its near copy, and kept it)', () => {
  bounded(128 * 1024 * 1024, 4 * 1024 * 1024, 32);
});
