import type { ClaimStore } from '../../idempotency/claims';
import type { Logger } from '../../observability/logger';
import type { Metrics } from '../../observability/metrics';
import type { Middleware } from '../context';
import { idempotencyMiddleware } from './idempotency';
import { loggingMiddleware } from './logging';
import { metricsMiddleware } from './metrics';
import { timeoutMiddleware } from './timeout';

/**
 * How a queue's handlers keep a redelivered event from having a second effect.
 * - `claim`: a Redis claim on the event id (a lease while the handler runs, then a done marker that outlives the
 *   retry horizon) around every handler, so two copies never run at once. For handlers with an effect outside
 *   Redis, such as a payment gateway. Two Redis round trips a delivery.
 * - `atomic`: every handler's effect is one atomic Redis script whose record is its own done marker (keyed by the
 *   order), so a second copy, even one running at the same time, finds the record and changes nothing; its
 *   outcome event is re-derived with the same id, which consumers downstream dedupe. No extra round trip.
 */
export type Idempotency = 'claim' | 'atomic';

export interface ChainOptions {
  log: Logger;
  metrics: Metrics;
  /** `HANDLER_TIMEOUT_MS` */
  handlerTimeoutMs: number;
  claims: ClaimStore;
  /** @defaultValue `claim` */
  idempotency?: Idempotency;
}

/**
 * The middleware around every handler, outermost first: metrics (so a timeout or a held claim is counted), logging
 * (at debug level only: below it the layer would only pass deliveries through), the handler timeout, and with
 * `claim` idempotency the claim, innermost, so that its lease covers only the handler.
 */
export function standardChain(options: ChainOptions): Middleware[] {
  const logging = options.log.isLevelEnabled('debug') ? [loggingMiddleware(options.log)] : [];
  const chain = [metricsMiddleware(options.metrics), ...logging, timeoutMiddleware(options.handlerTimeoutMs)];
  if ((options.idempotency ?? 'claim') === 'claim') chain.push(idempotencyMiddleware(options.claims, options.metrics));
  return chain;
}
