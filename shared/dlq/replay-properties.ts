import type { Message } from 'amqplib';
import type { PublishProperties } from '../messaging/publisher';
import { DELIVERY_COUNT_HEADERS, H } from '../messaging/retry-policy';
import { messageIdOf } from './dead-letter-info';
import { BROKER_HEADERS, deathsOf, firstRoutingKey, REPLAY_HEADERS, text, trustedDeadLetterHeaders } from './dead-letter-headers';

/**
 * The consumer's failure bookkeeping. A replay clears it so that the message starts over with a full set of
 * attempts; the origin headers (`x-warren-original-exchange`, `-routing-key`) stay, so a later failure still
 * says where the message first came from rather than "the default exchange".
 */
const FAILURE_HEADERS: ReadonlySet<string> = new Set([
  H.attempt,
  H.firstFailureAt,
  H.lastFailureAt,
  H.reason,
  H.reasonCode,
  H.errorClass,
  H.queue,
  H.service,
  H.correlationId,
  H.deadLetteredAt,
]);

/** Properties for a replay to the failing queue: the original ones, with retry and dead-letter state reset. */
export function replayProperties(msg: Message, now: Date): PublishProperties {
  const original = trustedDeadLetterHeaders(msg.properties.headers ?? {});
  const headers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(original)) if (!FAILURE_HEADERS.has(key) && !BROKER_HEADERS.test(key)) headers[key] = value;
  // A broker dead-letter never passed through the consumer's failure path: its origin is only in x-death.
  const oldest = deathsOf(original).at(-1);
  if (oldest) {
    headers[H.originalExchange] ??= text(oldest.exchange) ?? '';
    headers[H.originalRoutingKey] ??= firstRoutingKey(oldest);
  }
  headers[REPLAY_HEADERS.count] = (Number(text(original[REPLAY_HEADERS.count])) || 0) + 1;
  headers[REPLAY_HEADERS.at] = now.toISOString();
  return { ...copiedProperties(msg), headers };
}

/** Properties for putting a message back at the DLQ's tail unchanged, but for the delivery counts the broker keeps. */
export function requeueProperties(msg: Message): PublishProperties {
  const headers: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(msg.properties.headers ?? {})) if (!DELIVERY_COUNT_HEADERS.includes(key)) headers[key] = value;
  return { ...copiedProperties(msg), headers };
}

/**
 * The message's own AMQP properties. Absent ones are passed as `undefined` on purpose: the shared publisher fills
 * in defaults (content type, app id) that must not be stamped on a message that never had them. Left out:
 * `expiration` (the broker drops it on dead-lettering; a replay must not expire), `userId` (the broker checks it
 * against the connection's user and would refuse the publish), and `deliveryMode` (always persistent).
 * A message without an id gets its derived one: the publisher needs an id to recognise a returned message.
 */
function copiedProperties(msg: Message): PublishProperties {
  const p = msg.properties;
  return {
    messageId: messageIdOf(msg).messageId,
    contentType: text(p.contentType),
    contentEncoding: text(p.contentEncoding),
    correlationId: text(p.correlationId),
    replyTo: text(p.replyTo),
    type: text(p.type),
    appId: text(p.appId),
    timestamp: typeof p.timestamp === 'number' ? p.timestamp : undefined,
    priority: typeof p.priority === 'number' ? p.priority : undefined,
  };
}
