/**
 * Tolerance and whole-number parsing, shared by every face. Oracles: known values, and the messages the CLI's own
 * parsers printed before they moved here (src/cli/main.ts, sweep-command.ts, serve-command.ts, infer-command.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNeurStoreError } from '../errors.js';
import { checkTolerance, parseTolerance, parseTolerances, parseWholeNumber } from './tolerance.js';

const invalid = (message: string) => (e: unknown) => isNeurStoreError(e, 'INVALID_ARGUMENT') && (e as Error).message === message;

test('parseTolerance: finite numbers > 0; anything else is INVALID_ARGUMENT with the CLI\'s message', () => {
  assert.equal(parseTolerance('1e-3'), 0.001);
  assert.equal(parseTolerance(' 0.5 '), 0.5);
  for (const bad of ['0', '-1', 'abc', '', 'Infinity', 'NaN', '1e-3x']) {
    assert.throws(() => parseTolerance(bad), invalid(`--tolerance must be a number > 0, got '${bad}'`), bad);
  }
  assert.throws(() => parseTolerance('0', 'tolerance'), invalid("tolerance must be a number > 0, got '0'"));
});

test('parseTolerances: a comma-separated list, each > 0, none empty', () => {
  assert.deepEqual(parseTolerances('1e-4, 1e-3,1e-2'), [1e-4, 1e-3, 1e-2]);
  assert.deepEqual(parseTolerances('0.25'), [0.25]);
  assert.throws(() => parseTolerances('1e-3,,2'), invalid("--tolerances must be a comma-separated list of numbers, got '1e-3,,2'"));
  assert.throws(() => parseTolerances(''), invalid("--tolerances must be a comma-separated list of numbers, got ''"));
  assert.throws(() => parseTolerances('1e-3,-2'), invalid("--tolerances: '-2' is not a number > 0"));
});

test('checkTolerance: the store\'s own check (resolveMode), same message as before', () => {
  assert.equal(checkTolerance(0.01), 0.01);
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => checkTolerance(bad), invalid(`tolerance must be a finite number > 0, got ${bad}`), String(bad));
  }
});

test('parseWholeNumber: counts and sizes >= min, exact as doubles', () => {
  assert.equal(parseWholeNumber('0', '--port'), 0);
  assert.equal(parseWholeNumber('8080', '--port'), 8080);
  assert.equal(parseWholeNumber('64', '--batch', 1), 64);
  assert.equal(parseWholeNumber(String(Number.MAX_SAFE_INTEGER), '--max-upload-bytes'), Number.MAX_SAFE_INTEGER);
  assert.throws(() => parseWholeNumber('x', '--port'), invalid("--port must be a whole number >= 0, got 'x'"));
  assert.throws(() => parseWholeNumber('-1', '--port'), invalid("--port must be a whole number >= 0, got '-1'"));
  assert.throws(() => parseWholeNumber('1.5', '--port'), invalid("--port must be a whole number >= 0, got '1.5'"));
  assert.throws(() => parseWholeNumber('', '--port'), invalid("--port must be a whole number >= 0, got ''"), 'empty is no port (it used to read as 0)');
  assert.throws(() => parseWholeNumber('0', '--batch', 1), invalid("--batch must be a whole number >= 1, got '0'"));
  assert.throws(() => parseWholeNumber('1e20', '--batch', 1), invalid("--batch must be a whole number >= 1, got '1e20'"), 'not exact as a double');
});
