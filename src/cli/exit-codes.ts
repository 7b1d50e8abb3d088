/** The one mapping from error codes to process exit codes (documented in the README). */
import { NeurStoreError, type ErrorCode } from '../errors.js';

export const EXIT_CODES: Readonly<Record<ErrorCode | 'INTERNAL', number>> = {
  INVALID_ARGUMENT: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  CORRUPTION: 5,
  NOT_SUPPORTED: 6,
  IO_ERROR: 7,
  CANCELLED: 130,
  INTERNAL: 70,
};

export function exitCodeOf(e: unknown): number {
  return e instanceof NeurStoreError ? EXIT_CODES[e.code] : EXIT_CODES.INTERNAL;
}
