import type { Logger } from '../../observability/logger';
import type { Middleware } from '../context';

/**
 * One debug line per handled event; failures are logged where they are routed (retry or dead-letter).
 * Given the service's logger, it skips the line (and the event's child logger it would build) while debug is off.
 */
export function loggingMiddleware(log?: Pick<Logger, 'isLevelEnabled'>): Middleware {
  return async (ctx, next) => {
    const outcome = await next();
    if (log && !log.isLevelEnabled('debug')) return outcome;
    if (outcome === 'duplicate') ctx.log.debug({ attempt: ctx.attempt }, 'duplicate event acked without effect');
    else ctx.log.debug({ attempt: ctx.attempt }, 'event handled');
    return outcome;
  };
}
