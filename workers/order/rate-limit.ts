import type { Problem } from '../../shared/http/problem';

/**
 * How many orders one customer may place through the API per window (`ORDER_RATE_LIMIT`, `ORDER_RATE_WINDOW_MS`).
 * The window is fixed: it opens with the customer's first counted order and lasts `windowMs`, so at most `limit`
 * orders fall in it (a burst across two windows may reach twice that in a short span, which the limit accepts: it
 * bounds what one token can fill Redis with, not the instantaneous rate).
 */
export interface OrderRateLimit {
  /** Orders per window and customer. */
  limit: number;
  windowMs: number;
}

/** The limit the settings ask for; none when `ORDER_RATE_LIMIT` is 0 (off). */
export function orderRateLimitOf(settings: { ORDER_RATE_LIMIT: number; ORDER_RATE_WINDOW_MS: number }): OrderRateLimit | undefined {
  return settings.ORDER_RATE_LIMIT > 0 ? { limit: settings.ORDER_RATE_LIMIT, windowMs: settings.ORDER_RATE_WINDOW_MS } : undefined;
}

/**
 * `Retry-After` in whole seconds for a window that closes in `remainingMs`: rounded up, so a client that waits
 * that long finds the window closed, and at least 1, since 0 would invite a retry that is refused again.
 */
export function retryAfterSeconds(remainingMs: number): number {
  return Math.max(1, Math.ceil(remainingMs / 1000));
}

/** The 429 of `POST /orders` for a customer at the limit: it names the limit and when to come back. */
export function rateLimitedProblem(rate: OrderRateLimit, retryAfter: number): Problem {
  return {
    type: 'https://warren.dev/problems/rate-limited',
    title: 'Too Many Requests',
    status: 429,
    detail: `at most ${rate.limit} orders per customer every ${rate.windowMs / 1000} s; try again in ${retryAfter} s`,
    limit: rate.limit,
    windowSeconds: rate.windowMs / 1000,
    retryAfter,
  };
}
