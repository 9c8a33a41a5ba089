import { TransientError } from '../errors';
import type { HandlerOutcome, Middleware } from '../context';

export class HandlerTimeoutError extends TransientError {
  override readonly name = 'HandlerTimeoutError';
}

/**
 * Fails a handler that runs past `timeoutMs` as transient, so it is retried later instead of holding a prefetch
 * slot for ever. The late handler is not cancelled: its effects must be idempotent, which they are by design.
 */
export function timeoutMiddleware(timeoutMs: number): Middleware {
  return async (_ctx, next) => {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HandlerTimeoutError(`handler exceeded ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race<HandlerOutcome>([next(), expired]);
    } finally {
      clearTimeout(timer);
    }
  };
}
