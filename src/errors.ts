/**
 * The one error type of NeurStore. Every failure that reaches a caller is a `NeurStoreError` with a `code`;
 * the CLI maps codes to exit codes and the HTTP layer to status codes, each in one place.
 */

export type ErrorCode =
  | 'NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'CORRUPTION'
  | 'NOT_SUPPORTED'
  | 'IO_ERROR'
  | 'CONFLICT'
  | 'CANCELLED';

export class NeurStoreError extends Error {
  /** Machine-readable category of the failure. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NeurStoreError';
    this.code = code;
  }
}

/** Bad input from the caller: a malformed file, an unknown name, a bad flag. */
export function invalidArgument(message: string, cause?: unknown): NeurStoreError {
  return new NeurStoreError('INVALID_ARGUMENT', message, { cause });
}

/** Stored bytes failed a check; names the file and byte offset so an operator can find them. */
export function corruption(file: string, offset: number, message: string): NeurStoreError {
  return new NeurStoreError('CORRUPTION', `${file} at offset ${offset}: ${message}`);
}

export function notFound(message: string): NeurStoreError {
  return new NeurStoreError('NOT_FOUND', message);
}

export function notSupported(message: string): NeurStoreError {
  return new NeurStoreError('NOT_SUPPORTED', message);
}

export function conflict(message: string): NeurStoreError {
  return new NeurStoreError('CONFLICT', message);
}

/** Wraps an operating-system error (ENOSPC, EIO...) so callers see one error type. */
export function ioError(message: string, cause?: unknown): NeurStoreError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new NeurStoreError('IO_ERROR', `${message}${detail}`, { cause });
}

/** The caller stopped the operation (an AbortSignal, Ctrl-C); nothing of it was committed. */
export function cancelled(message: string): NeurStoreError {
  return new NeurStoreError('CANCELLED', message);
}

export function isNeurStoreError(e: unknown, code?: ErrorCode): e is NeurStoreError {
  return e instanceof NeurStoreError && (code === undefined || e.code === code);
}
