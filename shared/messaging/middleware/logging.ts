import type { Middleware } from '../context';

/** One debug line per handled event; failures are logged where they are routed (retry or dead-letter). */
export function loggingMiddleware(): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.duplicate) ctx.log.debug({ attempt: ctx.attempt }, 'duplicate event acked without effect');
    else ctx.log.debug({ attempt: ctx.attempt }, 'event handled');
  };
}
