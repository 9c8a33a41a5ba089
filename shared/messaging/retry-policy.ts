import { DeferredError, errorClass, errorMessage, isPermanent } from '../errors/errors';

export type FailureAction =
  | { kind: 'retry'; delayMs: number; nextAttempt: number; deferred?: true }
  | { kind: 'requeue'; delayMs: number }
  | { kind: 'dead-letter'; reasonCode: string };

/**
 * Decides what a failed attempt becomes: a permanent error is dead-lettered at once; a transient one takes the
 * next delay tier while any is left (attempts = tiers + 1), then is dead-lettered as exhausted. A deferral
 * ({@link DeferredError}, `deferredForMs` after the first one) waits in a tier with the same attempt number; with
 * no tiers at all it goes back to the queue after a pause.
 */
export function decideFailure(error: unknown, attempt: number, retryDelaysMs: readonly number[], deferredForMs = 0): FailureAction {
  if (isPermanent(error)) return { kind: 'dead-letter', reasonCode: error.code };
  if (error instanceof DeferredError && deferredForMs < error.deferLimitMs) {
    if (retryDelaysMs.length === 0) return { kind: 'requeue', delayMs: Math.min(error.retryAfterMs, 1000) };
    // Waiting past the holder's lease only delays the work; waiting less costs one more look. So the longest tier
    // within the remaining lease, or the shortest tier when the lease ends sooner than any.
    const ascending = [...retryDelaysMs].sort((a, b) => a - b);
    const delayMs = [...ascending].reverse().find((d) => d <= error.retryAfterMs) ?? ascending[0]!;
    return { kind: 'retry', delayMs, nextAttempt: attempt, deferred: true };
  }
  const delayMs = retryDelaysMs[attempt - 1];
  if (delayMs === undefined) return { kind: 'dead-letter', reasonCode: 'RETRIES_EXHAUSTED' };
  return { kind: 'retry', delayMs, nextAttempt: attempt + 1 };
}

/** Headers the broker sets when it dead-letters or redelivers: never copied onto a message Warren re-publishes. */
export const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count|acquired-count)/;

/**
 * A quorum queue's own counts of one message's deliveries: `x-delivery-count` (failed ones) and, from RabbitMQ 4.3,
 * `x-acquired-count` (every hand-out). They belong to the queue, not the message: a copy starts counting afresh.
 */
export const DELIVERY_COUNT_HEADERS: readonly string[] = ['x-delivery-count', 'x-acquired-count'];

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
  /** When the message was first deferred (its claim held elsewhere): bounds how long deferrals stay free. */
  deferredSince: 'x-warren-deferred-since',
} as const;

/** The failure's reason as it may appear in a header: one line, bounded, never a payment token. */
export function describeFailure(error: unknown): { reason: string; errorClass: string } {
  const text = errorMessage(error)
    .replace(/\s+/g, ' ')
    .replace(/tok_[A-Za-z0-9_]+/g, 'tok_[redacted]');
  return { reason: text.slice(0, 500), errorClass: errorClass(error) };
}
