import { createHash, randomUUID } from 'node:crypto';
import type { Message } from 'amqplib';
import type { AnyEvent } from '../events/catalog';
import type { Logger } from '../observability/logger';
import { eventTypeLabel, labelled, type Metrics } from '../observability/metrics';
import type { AckBatcher } from './ack-batcher';
import { MessageTooLargeError } from '../errors/errors';
import type { Publisher } from './publisher';
import { BROKER_HEADERS, decideFailure, describeFailure, H } from './retry-policy';
import { DEAD_LETTER_ROUTING_KEY, failuresExchangeName, retryRoutingKey, type Topology } from './topology';
import { trustedHeaders } from './trusted-headers';

/**
 * A body refused as too large is dead-lettered as its first this many bytes, with its size and sha256 in
 * {@link TRUNCATED_BODY_HEADERS}: enough to recognise it, while a DLQ of full copies (up to the broker's 16 MiB
 * each) would weigh on the broker and on whoever reads the DLQ. It could never be processed anyway.
 */
export const DEAD_LETTER_BODY_PREFIX_BYTES = 4096;

/** Headers of a dead letter whose body was truncated: the original body's size in bytes and its sha256 (hex). */
export const TRUNCATED_BODY_HEADERS = { bytes: 'x-warren-original-body-bytes', sha256: 'x-warren-original-body-sha256' } as const;

/** What routing a failed delivery needs of its consumer. */
export interface FailureRouting {
  queue: string;
  topology: Topology;
  publisher: Publisher;
  service: string;
  metrics: Metrics;
}

/**
 * Turns a failed delivery into a delayed retry (a copy to the queue's own retry tier) or a dead-letter (a copy
 * with the reason to `<queue>.dlq`), both through the queue's failures exchange, then acks the original once the
 * broker confirmed the copy. A copy that could not be confirmed hands the original back to the broker instead.
 */
export async function routeFailure(
  options: FailureRouting,
  acks: AckBatcher,
  msg: Message,
  eventType: string,
  error: unknown,
  log: Logger,
  event?: AnyEvent,
): Promise<void> {
  const { queue, metrics, publisher, topology, service } = options;
  const failures = failuresExchangeName(queue);
  const attempt = attemptOf(msg, failures);
  const headers: Record<string, unknown> = {};
  // Forged x-warren-* headers are gone already: what follows is either ours or set now.
  for (const [key, value] of Object.entries(trustedHeaders(msg, failures))) if (!BROKER_HEADERS.test(key)) headers[key] = value;
  const deferredSince = Date.parse(String(headers[H.deferredSince] ?? ''));
  const action = decideFailure(error, attempt, topology.retryDelaysMs, Number.isNaN(deferredSince) ? 0 : Date.now() - deferredSince);
  const { reason, errorClass } = describeFailure(error);
  const now = new Date().toISOString();
  if (action.kind === 'requeue') {
    // No retry tier to wait in: the delivery waits here, then goes back to the queue unspent.
    log.debug({ attempt, delayMs: action.delayMs, reason }, 'deferred; requeueing');
    await new Promise((r) => setTimeout(r, action.delayMs));
    acks.requeue(msg);
    labelled(metrics.consumed)(queue, eventTypeLabel(eventType), 'deferred').inc();
    return;
  }
  if (action.kind === 'retry' && action.deferred) headers[H.deferredSince] ??= now;
  headers[H.firstFailureAt] ??= now;
  headers[H.lastFailureAt] = now;
  headers[H.queue] = queue;
  headers[H.originalExchange] ??= msg.fields.exchange;
  headers[H.originalRoutingKey] ??= msg.fields.routingKey;
  const properties = {
    messageId: (msg.properties.messageId as string | undefined) ?? event?.eventId ?? randomUUID(),
    ...copyProperties(msg),
  };
  try {
    if (action.kind === 'retry') {
      await publisher.publish(failures, retryRoutingKey(action.delayMs), msg.content, {
        ...properties,
        headers: { ...headers, [H.attempt]: action.nextAttempt },
      });
      if (action.deferred) log.info({ attempt, delayMs: action.delayMs, reason }, 'deferred: claim held elsewhere; retry scheduled');
      else log.warn({ attempt, delayMs: action.delayMs, errorClass, reason }, 'handler failed; retry scheduled');
    } else {
      const correlationId = event?.correlationId ?? (msg.properties.correlationId as string | undefined);
      const body = deadLetterBody(msg.content, error);
      await publisher.publish(failures, DEAD_LETTER_ROUTING_KEY, body.content, {
        ...properties,
        headers: {
          ...headers,
          ...body.headers,
          [H.attempt]: attempt,
          [H.reason]: reason,
          [H.reasonCode]: action.reasonCode,
          [H.errorClass]: errorClass,
          [H.service]: service,
          [H.deadLetteredAt]: now,
          ...(correlationId ? { [H.correlationId]: correlationId } : {}),
        },
      });
      log.error({ attempt, errorClass, reason, reasonCode: action.reasonCode }, 'message dead-lettered');
    }
    acks.ack(msg);
    const label = eventTypeLabel(eventType);
    const outcome = action.kind === 'dead-letter' ? 'dead_letter' : action.deferred ? 'deferred' : 'retry';
    labelled(metrics.consumed)(queue, label, outcome).inc();
    if (action.kind === 'dead-letter') labelled(metrics.deadLettered)(queue, label, action.reasonCode).inc();
  } catch (publishError) {
    // The copy was not confirmed: hand the original back to the broker after a pause rather than lose it.
    log.error({ err: (publishError as Error).message }, 'could not route failed message; requeueing');
    await new Promise((r) => setTimeout(r, 1000));
    acks.requeue(msg);
  }
}

/** The attempt this delivery is, as Warren counted it: 1 for a message that came in from outside. */
export function attemptOf(msg: Message, failuresExchange: string): number {
  const value = Number(trustedHeaders(msg, failuresExchange)[H.attempt]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

function deadLetterBody(content: Buffer, error: unknown): { content: Buffer; headers: Record<string, unknown> } {
  if (!(error instanceof MessageTooLargeError) || content.length <= DEAD_LETTER_BODY_PREFIX_BYTES) return { content, headers: {} };
  return {
    // A copy, not a view: a view would keep the whole body alive while the publish awaits its confirm.
    content: Buffer.from(content.subarray(0, DEAD_LETTER_BODY_PREFIX_BYTES)),
    headers: {
      [TRUNCATED_BODY_HEADERS.bytes]: content.length,
      [TRUNCATED_BODY_HEADERS.sha256]: createHash('sha256').update(content).digest('hex'),
    },
  };
}

function copyProperties(msg: Message) {
  const p = msg.properties;
  return {
    ...(p.type ? { type: p.type as string } : {}),
    ...(p.correlationId ? { correlationId: p.correlationId as string } : {}),
    ...(p.timestamp ? { timestamp: p.timestamp as number } : {}),
    ...(p.contentType ? { contentType: p.contentType as string } : {}),
    ...(p.appId ? { appId: p.appId as string } : {}),
  };
}
