import type { Message } from 'amqplib';

/** Headers Warren writes for its own bookkeeping: retry attempts, failure times and origin, replays. */
const WARREN_HEADER = /^x-warren-/;

/**
 * A delivery's headers with the `x-warren-*` ones kept only if Warren itself can have written them.
 *
 * Those headers steer the consumer (the attempt count decides retry or dead-letter) and fill the DLQ record, so
 * one forged by a publisher on the events exchange (`x-warren-attempt: 99`, a first failure in 1970, another
 * original routing key, a replay count) must not be believed. The broker says which exchange delivered the
 * message, and only two can carry Warren's own copies to a queue: that queue's own failures exchange (its retry
 * tiers hand a message back through it; only its service's broker user may write there) and the default exchange
 * (the DLQ tool's replays; only the operator's user may write there, see docs/security.md). Not any exchange whose
 * name merely looks like a failures exchange. Anything delivered through the events exchange, which every publisher
 * may write to, has them dropped, so it starts as a first attempt whatever it claims. No key to share or rotate;
 * the broker's permissions are the signature.
 */
export function trustedHeaders(msg: Message, failuresExchange: string): Record<string, unknown> {
  const headers: Record<string, unknown> = msg.properties.headers ?? {};
  return fromFailurePath(msg.fields.exchange, failuresExchange) ? headers : withoutWarrenHeaders(headers);
}

/**
 * The default exchange (a replay), or the queue's own failures exchange, named by the caller once
 * (`failuresExchangeName(queue)`, topology.ts) rather than built again for every delivery.
 */
export function fromFailurePath(exchange: string, failuresExchange: string): boolean {
  return exchange === '' || exchange === failuresExchange;
}

/**
 * The only exchanges a delivery to a queue can come through: the events exchange, the queue's own failures
 * exchange, and the default exchange (a replay). Anything else was routed there by a binding Warren never made.
 */
export function expectedRoute(exchange: string, failuresExchange: string, eventsExchange: string): boolean {
  return exchange === eventsExchange || fromFailurePath(exchange, failuresExchange);
}

export function withoutWarrenHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) if (!WARREN_HEADER.test(key)) kept[key] = value;
  return kept;
}
