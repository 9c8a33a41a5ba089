/**
 * Failures are classified by type, never by message text. A {@link PermanentError} goes straight to the
 * dead-letter queue; anything else is treated as transient and takes the delayed-retry tiers first.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  /** A short, stable code for the dead-letter header `x-warren-reason-code` and for metrics. */
  readonly code: string = 'PERMANENT';
}

/** A failure that may pass: a timeout, Redis or the broker down, a gateway 5xx. */
export class TransientError extends Error {
  override readonly name: string = 'TransientError';
}

/**
 * Not a failure: the work must wait (another worker holds its claim). Retried after `retryAfterMs` without spending
 * an attempt, so no retry setting can dead-letter it, for as long as the wait can be legitimate (`deferLimitMs`
 * since the first deferral); past that it is an ordinary transient failure.
 */
export class DeferredError extends TransientError {
  override readonly name: string = 'DeferredError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
    readonly deferLimitMs: number,
  ) {
    super(message);
  }
}

export class MalformedMessageError extends PermanentError {
  override readonly name = 'MalformedMessageError';
  override readonly code = 'MALFORMED_JSON';
}

export class UnsupportedContentTypeError extends PermanentError {
  override readonly name = 'UnsupportedContentTypeError';
  override readonly code = 'UNSUPPORTED_CONTENT_TYPE';
}

export class MessageTooLargeError extends PermanentError {
  override readonly name = 'MessageTooLargeError';
  override readonly code = 'MESSAGE_TOO_LARGE';
}

export class SchemaViolationError extends PermanentError {
  override readonly name = 'SchemaViolationError';
  override readonly code = 'SCHEMA_VIOLATION';
  /** The JSON pointer of the first offending field, e.g. `/items/0/quantity`. */
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export class UnknownEventError extends PermanentError {
  override readonly name = 'UnknownEventError';
  override readonly code = 'UNKNOWN_EVENT';
}

/**
 * An event that contradicts what the service already knows of its order (another amount for the same order, a
 * cancel of a confirmed order): refused before any effect, and dead-lettered with the reason.
 */
export class ConflictingEventError extends PermanentError {
  override readonly name = 'ConflictingEventError';
  override readonly code = 'CONFLICTING_EVENT';
}

/**
 * A delivery through an exchange Warren never binds its queue to (not the events exchange, not the queue's own
 * failures exchange, not a replay): someone routed it there, so it is not believed, only dead-lettered.
 */
export class UnexpectedRouteError extends PermanentError {
  override readonly name = 'UnexpectedRouteError';
  override readonly code = 'UNEXPECTED_ROUTE';
}

export class PublishError extends TransientError {
  override readonly name: string = 'PublishError';
  /** The metric outcome: `nacked`, `returned`, `timeout` or `buffer_full`. */
  constructor(
    message: string,
    readonly outcome: 'nacked' | 'returned' | 'timeout' | 'buffer_full',
  ) {
    super(message);
  }
}

export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

/** The error's class name for headers and logs; unknown throwables are named by their constructor. */
export function errorClass(error: unknown): string {
  if (error instanceof Error) return error.name === 'Error' ? error.constructor.name : error.name;
  return typeof error;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
