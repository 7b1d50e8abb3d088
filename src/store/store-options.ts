/** Checks of what callers pass to the store: names, paths, modes and tolerances, coding effort. */
import { invalidArgument } from '../errors.js';
import { DEFAULT_TOLERANCE, type Mode, type PutOptions } from './store-types.js';
import { checkTolerance } from './tolerance.js';

/** The lossless coding effort of a put: 'default' unless 'max' is asked. */
export function checkEffort(effort: string | undefined): 'default' | 'max' {
  if (effort === undefined || effort === 'default' || effort === 'max') return effort ?? 'default';
  throw invalidArgument(`unknown effort '${effort}' (default, max)`);
}

/** Paths reach the file system only without NUL bytes (which it would cut or refuse). */
export function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`${what} is empty`);
  if (path.includes('\0')) throw invalidArgument(`${what} ${JSON.stringify(path)} contains a NUL byte`);
}

/** The mode and tolerance a put runs with: lossless unless asked, `default` when only a tolerance is given. */
export function resolveMode(o: Pick<PutOptions, 'mode' | 'tolerance'>): { mode: Mode; tolerance: number } {
  const mode = o.mode ?? (o.tolerance !== undefined ? 'default' : 'lossless');
  if (!['lossless', 'default', 'paper'].includes(mode)) throw invalidArgument(`unknown mode '${mode}' (lossless, default, paper)`);
  if (mode === 'lossless') {
    if (o.tolerance !== undefined && o.tolerance !== 0) throw invalidArgument('lossless mode takes no tolerance');
    return { mode, tolerance: 0 };
  }
  return { mode, tolerance: checkTolerance(o.tolerance ?? DEFAULT_TOLERANCE) };
}

/** Model names: 1-256 characters, no control characters, not starting with '-' (it would read as a flag). */
export function validateName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw invalidArgument('a model name must be 1 to 256 characters long');
  }
  if (/[\u0000-\u001f\u007f]/.test(name) || name.startsWith('-')) {
    throw invalidArgument(`model name '${name}' has control characters or starts with '-'`);
  }
}
