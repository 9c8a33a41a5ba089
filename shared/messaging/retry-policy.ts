import { errorClass, errorMessage, isPermanent } from './errors';

export type FailureAction = { kind: 'retry'; delayMs: number; nextAttempt: number } | { kind: 'dead-letter'; reasonCode: string };

/**
 * Decides what a failed attempt becomes: a permanent error is dead-lettered at once; a transient one takes the
 * next delay tier while any is left (attempts = tiers + 1), then is dead-lettered as exhausted.
 */
export function decideFailure(error: unknown, attempt: number, retryDelaysMs: readonly number[]): FailureAction {
  if (isPermanent(error)) return { kind: 'dead-letter', reasonCode: error.code };
  const delayMs = retryDelaysMs[attempt - 1];
  if (delayMs === undefined) return { kind: 'dead-letter', reasonCode: 'RETRIES_EXHAUSTED' };
  return { kind: 'retry', delayMs, nextAttempt: attempt + 1 };
}

/** Headers the broker sets when it dead-letters or redelivers: never copied onto a message Warren re-publishes. */
export const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count)/;

/** Header names Warren sets on retry and dead-letter copies. */
export const H = {
  attempt: 'x-warren-attempt',
  firstFailureAt: 'x-warren-first-failure-at',
  lastFailureAt: 'x-warren-last-failure-at',
  reason: 'x-warren-reason',
  reasonCode: 'x-warren-reason-code',
  errorClass: 'x-warren-error-class',
  queue: 'x-warren-queue',
  originalExchange: 'x-warren-original-exchange',
  originalRoutingKey: 'x-warren-original-routing-key',
  service: 'x-warren-service',
  correlationId: 'x-warren-correlation-id',
  deadLetteredAt: 'x-warren-dead-lettered-at',
} as const;

/** The failure's reason as it may appear in a header: one line, bounded, never a payment token. */
export function describeFailure(error: unknown): { reason: string; errorClass: string } {
  const text = errorMessage(error)
    .replace(/\s+/g, ' ')
    .replace(/tok_[A-Za-z0-9_]+/g, 'tok_[redacted]');
  return { reason: text.slice(0, 500), errorClass: errorClass(error) };
}
