// Errors are classified once, at the driver boundary. Pure.

/**
 * - NotFound: the backend object does not exist.
 * - Conflict: someone else changed the object first (a lost compare-and-swap); re-observe and re-plan.
 * - Transient: the backend is unreachable, overloaded or failed internally; retry with backoff.
 * - Terminal: the backend refused the request for a reason that retrying will not fix (invalid input,
 *   a VLAN already in use); the user must change the spec or the backend.
 */
export type ErrorClass = 'NotFound' | 'Conflict' | 'Transient' | 'Terminal';

export class BackendError extends Error {
  readonly errorClass: ErrorClass;
  /** The backend's own error code or type, e.g. Neutron's `VlanIdInUse`. */
  readonly code: string | undefined;
  constructor(errorClass: ErrorClass, message: string, opts: { code?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'BackendError';
    this.errorClass = errorClass;
    this.code = opts.code;
  }
}

export const notFound = (message: string, code?: string) => new BackendError('NotFound', message, { code });
export const conflict = (message: string, code?: string) => new BackendError('Conflict', message, { code });
export const transient = (message: string, opts: { code?: string; cause?: unknown } = {}) =>
  new BackendError('Transient', message, opts);
export const terminal = (message: string, code?: string) => new BackendError('Terminal', message, { code });

/** The class of any error: BackendErrors carry theirs; anything else (a reset socket, a bug in a
 *  driver) is treated as transient, so it is retried with backoff rather than given up on. */
export function classify(err: unknown): ErrorClass {
  return err instanceof BackendError ? err.errorClass : 'Transient';
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
