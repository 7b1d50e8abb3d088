/**
 * Tolerances (the error bound of the lossy modes: max |x - x'| per element) and whole numbers as callers type
 * them: parsed and checked here once, for every face (CLI flags, HTTP and SQL arguments) and for the store itself.
 * Each failure is an INVALID_ARGUMENT naming what was wrong (`what` is the flag or field, e.g. '--tolerance').
 */
import { invalidArgument } from '../errors.js';

/** A tolerance as a number: finite and > 0, else INVALID_ARGUMENT `WHAT must be a finite number > 0, got T`. */
export function checkTolerance(t: number, what = 'tolerance'): number {
  if (!(t > 0) || !Number.isFinite(t)) throw invalidArgument(`${what} must be a finite number > 0, got ${t}`);
  return t;
}

/** A tolerance as text (`1e-3`, `0.01`): a finite number > 0. */
export function parseTolerance(text: string, what = '--tolerance'): number {
  const t = Number(text);
  if (!(t > 0) || !Number.isFinite(t)) throw invalidArgument(`${what} must be a number > 0, got '${text}'`);
  return t;
}

/** A comma-separated list of tolerances (`1e-4,1e-3,1e-2`): each a finite number > 0, none empty. */
export function parseTolerances(text: string, what = '--tolerances'): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw invalidArgument(`${what} must be a comma-separated list of numbers, got '${text}'`);
  return parts.map((p) => {
    const t = Number(p);
    if (!(t > 0) || !Number.isFinite(t)) throw invalidArgument(`${what}: '${p}' is not a number > 0`);
    return t;
  });
}

/** A count or a size in bytes as text: a whole number >= `min` (and exact as a double). */
export function parseWholeNumber(text: string, what: string, min = 0): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min) throw invalidArgument(`${what} must be a whole number >= ${min}, got '${text}'`);
  return n;
}
