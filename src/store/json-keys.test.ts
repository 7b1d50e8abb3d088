/** JSON of record keys: the CLI's decimal strings (as format-output's toJson wrote them) and the HTTP API's hex. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bigintReplacer, recordKeyJson, toJson } from './json-keys.js';

/** The CLI's toJson before it moved here (the oracle). */
const previousToJson = (value: unknown): string => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);

test('toJson writes bigints as decimal strings, exactly as the CLI did; everything else as JSON.stringify', () => {
  const max = 2n ** 64n - 1n;
  const value = { recordKey: max, baseKey: undefined, nested: [{ k: 0n }, 1, 'x', null], n: 0.001, s: 'a"b' };
  assert.equal(toJson(value), previousToJson(value));
  assert.deepEqual(JSON.parse(toJson(value)), { recordKey: '18446744073709551615', nested: [{ k: '0' }, 1, 'x', null], n: 0.001, s: 'a"b' });
  assert.equal(toJson([]), '[]');
});

test('recordKeyJson: decimal by default, hex for the HTTP API (as native-api wrote it), null for no key', () => {
  assert.equal(recordKeyJson(255n), '255');
  assert.equal(recordKeyJson(255n, 'hex'), 'ff');
  assert.equal(recordKeyJson(2n ** 64n - 1n, 'hex'), 'ffffffffffffffff');
  assert.equal(recordKeyJson(undefined), null);
  assert.equal(recordKeyJson(undefined, 'hex'), null);
  assert.equal(JSON.stringify({ k: 4096n }, bigintReplacer('hex')), '{"k":"1000"}');
});
