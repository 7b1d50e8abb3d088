// The read-ahead starts the following items within its byte and count budgets, never an `onlyWhenAsked` item
// (nor anything after it) before it is asked for, and hands every item out once, whatever the order asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefetcher } from './prefetch.js';

function recorder(): { started: number[]; fetch: (i: number) => Promise<number> } {
  const started: number[] = [];
  return { started, fetch: (i) => (started.push(i), Promise.resolve(i * 10)) };
}

test('items start ahead within the byte budget (at least one), each fetched once', async () => {
  const { started, fetch } = recorder();
  const get = prefetcher([5, 5, 5, 5, 5, 5], fetch, { aheadBytes: 10 });
  assert.equal(await get(0), 0);
  assert.deepEqual(started, [0, 1, 2], 'two items of 5 bytes fit 10 bytes ahead');
  assert.equal(await get(1), 10);
  assert.equal(await get(2), 20);
  assert.deepEqual(started, [0, 1, 2, 3, 4], 'nothing fetched twice');
  const big = recorder();
  const get2 = prefetcher([1, 100, 100], big.fetch, { aheadBytes: 10 });
  await get2(0);
  assert.deepEqual(big.started, [0, 1], 'one item ahead even when it alone exceeds the budget');
});

test('an onlyWhenAsked item, and what follows it, starts only when asked for', async () => {
  const { started, fetch } = recorder();
  const get = prefetcher([1, 1, 1, 1, 1], fetch, { onlyWhenAsked: (i) => i === 2 });
  await get(0);
  assert.deepEqual(started, [0, 1], 'stops before item 2');
  await get(1);
  assert.deepEqual(started, [0, 1]);
  assert.equal(await get(2), 20);
  assert.deepEqual(started, [0, 1, 2, 3, 4], 'asked for, it starts, and the read-ahead goes on after it');
});
