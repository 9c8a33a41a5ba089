import type { Message } from 'amqplib';

/** Headers Warren writes for its own bookkeeping: retry attempts, failure times and origin, replays. */
const WARREN_HEADER = /^x-warren-/;

/**
 * A delivery's headers with the `x-warren-*` ones kept only if Warren itself can have written them.
 *
 * Those headers steer the consumer (the attempt count decides retry or dead-letter) and fill the DLQ record, so
 * one forged by a publisher on the events exchange (`x-warren-attempt: 99`, a first failure in 1970, another
 * original routing key, a replay count) must not be believed. The broker says which exchange delivered the
 * message, and only two can carry Warren's own copies: the queue's failures exchange (its retry tiers hand a
 * message back through it; only the service's broker user may write there) and the default exchange (the DLQ
 * tool's replays; only the operator's user may write there, see docs/security.md). Anything delivered through
 * the events exchange, which every publisher may write to, has them dropped, so it starts as a first attempt
 * whatever it claims. No key to share or rotate; the broker's permissions are the signature.
 */
export function trustedHeaders(msg: Message): Record<string, unknown> {
  const headers: Record<string, unknown> = msg.properties.headers ?? {};
  return fromFailurePath(msg.fields.exchange) ? headers : withoutWarrenHeaders(headers);
}

/** The default exchange (a replay), or a queue's own failures exchange (`<queue>.failures`, see topology.ts). */
export function fromFailurePath(exchange: string): boolean {
  return exchange === '' || exchange.endsWith('.failures');
}

export function withoutWarrenHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) if (!WARREN_HEADER.test(key)) kept[key] = value;
  return kept;
}
