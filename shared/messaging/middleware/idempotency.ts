import { createHash } from 'node:crypto';
import type { AnyEvent } from '../../events/catalog';
import { ClaimHeldError, type ClaimStore } from '../../idempotency/claims';
import type { Metrics } from '../../observability/metrics';
import { timed } from '../../redis/client';
import type { HandlerOutcome, Middleware } from '../context';

/**
 * Skips an event this queue already handled for this order (its outcome `duplicate`, acked), and keeps two copies of one event from
 * running at once: the second finds the claim held and waits, unspent, until the holder's lease can have ended
 * (a dead holder's claim is not renewed, so it ends within a lease). Handlers keep their own effects
 * idempotent too (atomic with their state in Redis), so a crash between effect and done marker is harmless.
 */
/**
 * What a claim is on: this queue's step (the event type) for this order, then the event's id and a digest of what
 * it says. An eventId reused for another order, or for other content (a second OrderPlaced under the first one's
 * id, as two seed-shaped v1 events of one order have), is another claim: the handler runs and checks it against
 * what it already knows, instead of the copy being acked as a duplicate of something it is not. A redelivery is
 * byte for byte the same event, so it finds the claim.
 */
export function claimIdOf(event: AnyEvent): string {
  const digest = createHash('sha256').update(JSON.stringify(event)).digest('base64url').slice(0, 22);
  return `${event.eventType}:${event.orderId}:${event.eventId}:${digest}`;
}

export function idempotencyMiddleware(claims: ClaimStore, metrics?: Metrics): Middleware {
  // Claims are two Redis round trips on every delivery: timed (and their failures counted) when metrics are given.
  const time = <T>(operation: string, run: () => Promise<T>) => (metrics ? timed(metrics, operation, run) : run());
  return async (ctx, next) => {
    const scope = ctx.queue;
    const id = claimIdOf(ctx.event);
    const claim = await time('claim', () => claims.claim(scope, id));
    if (claim.kind === 'done') return 'duplicate';
    if (claim.kind === 'held') throw new ClaimHeldError(`event ${id} is being handled elsewhere`, claim.remainingMs, claims.deferLimitMs);
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
