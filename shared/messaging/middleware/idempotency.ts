import { ClaimHeldError, type ClaimStore } from '../../idempotency/claims';
import type { Metrics } from '../../observability/metrics';
import { timed } from '../../redis/client';
import type { HandlerOutcome, Middleware } from '../context';

/**
 * Skips an event this queue already handled for this order (its outcome `duplicate`, acked), and keeps two copies of one event from
 * running at once: the second finds the claim held and is retried after a delay. Handlers keep their own effects
 * idempotent too (atomic with their state in Redis), so a crash between effect and done marker is harmless.
 */
export function idempotencyMiddleware(claims: ClaimStore, metrics?: Metrics): Middleware {
  // Claims are two Redis round trips on every delivery: timed (and their failures counted) when metrics are given.
  const time = <T>(operation: string, run: () => Promise<T>) => (metrics ? timed(metrics, operation, run) : run());
  return async (ctx, next) => {
    const scope = ctx.queue;
    // Keyed by the effect (this queue's step for this order) and then the event: an eventId reused for another
    // order is another claim, so that order is still handled; the eventId alone would make it a "duplicate".
    const { eventType, orderId, eventId } = ctx.event;
    const id = `${eventType}:${orderId}:${eventId}`;
    const claim = await time('claim', () => claims.claim(scope, id));
    if (claim.kind === 'done') return 'duplicate';
    if (claim.kind === 'held') throw new ClaimHeldError(`event ${id} is being handled elsewhere`);
    let outcome: HandlerOutcome;
    try {
      outcome = await next();
    } catch (error) {
      await time('claim_release', () => claims.release(scope, id, claim.token)).catch(() => undefined);
      throw error;
    }
    await time('claim_complete', () => claims.complete(scope, id, claim.token));
    return outcome;
  };
}
