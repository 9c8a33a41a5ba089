import { TransientError } from '../../errors/errors';
import type { HandlerOutcome, Middleware } from '../context';

export class HandlerTimeoutError extends TransientError {
  override readonly name = 'HandlerTimeoutError';
}

interface Running {
  deadline: number;
  fail: (error: Error) => void;
}

/**
 * Fails a handler that runs past `timeoutMs` as transient, so it is retried later instead of holding a prefetch
 * slot for ever. The late handler is not cancelled: its effects must be idempotent, which they are by design.
 *
 * One timer for all running handlers, not one each: every handler gets the same time, so deadlines fall in the
 * order handlers started, and the timer only ever waits for the oldest. A timer and a `Promise.race` per
 * delivery were 1 KB of garbage and two promises a message (inventory worker profile, BENCHMARKS.md).
 */
export function timeoutMiddleware(timeoutMs: number): Middleware {
  const running = new Set<Running>();
  let timer: NodeJS.Timeout | undefined;

  const expire = (): void => {
    timer = undefined;
    const now = Date.now();
    for (const handler of running) {
      if (handler.deadline > now) {
        arm(handler.deadline - now);
        return;
      }
      running.delete(handler);
      handler.fail(new HandlerTimeoutError(`handler exceeded ${timeoutMs} ms`));
    }
  };
  const arm = (ms: number): void => {
    timer = setTimeout(expire, ms);
  };

  return (_ctx, next) =>
    new Promise<HandlerOutcome>((resolve, reject) => {
      const handler: Running = { deadline: Date.now() + timeoutMs, fail: reject };
      running.add(handler);
      timer ??= setTimeout(expire, timeoutMs);
      const settle = (): void => {
        running.delete(handler);
        // No handler left to watch: no timer either (none outlives the work it guards).
        if (running.size === 0 && timer) {
          clearTimeout(timer);
          timer = undefined;
        }
      };
      const failed = (error: unknown): void => {
        settle();
        reject(error as Error);
      };
      try {
        next().then((outcome) => {
          settle();
          resolve(outcome);
        }, failed);
      } catch (error) {
        failed(error); // a middleware below that throws instead of rejecting
      }
    });
}
