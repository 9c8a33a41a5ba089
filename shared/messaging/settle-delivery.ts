import { randomUUID } from 'node:crypto';
import type { Message } from 'amqplib';
import type { AnyEvent } from '../events/catalog';
import { DeferredError, isPermanent } from '../errors/errors';
import type { Logger } from '../observability/logger';
import { eventTypeLabel, labelled, type Metrics } from '../observability/metrics';
import type { AckBatcher } from './ack-batcher';
import type { HandlerOutcome } from './context';
import { attemptOf, copyProperties, deadLetterBody } from './failure-copy';
import type { DeliveryOutcome } from './kill-switch';
import type { Publisher } from './publisher';
import { BROKER_HEADERS, decideFailure, describeFailure, H } from './retry-policy';
import { DEAD_LETTER_ROUTING_KEY, failuresExchangeName, retryRoutingKey, type Topology } from './topology';
import { trustedHeaders } from './trusted-headers';

/** What settling a delivery needs of its consumer. */
export interface SettlementOptions {
  queue: string;
  topology: Topology;
  publisher: Publisher;
  service: string;
  metrics: Metrics;
}

/** How long a delivery whose copy could not be confirmed waits before it goes back to the broker. */
const REQUEUE_PAUSE_MS = 1000;

/**
 * The one place a delivery is settled. A handled one is acked. A failed one becomes a delayed retry (a copy to
 * the queue's own retry tier) or a dead-letter (a copy with the reason to `<queue>.dlq`), both through the queue's
 * failures exchange, and the original is acked once the broker confirmed the copy; a copy that could not be
 * confirmed, or a deferral with no retry tier to wait in, hands the original back to the broker instead. Each
 * settlement is counted (`warren_messages_consumed_total` by outcome) and named for the kill switch.
 */
export class DeliverySettlement {
  private readonly failures: string;
  private readonly consumed: (queue: string, eventType: string, outcome: string) => { inc(): void };
  private readonly deadLettered: (queue: string, eventType: string, reasonCode: string) => { inc(): void };

  constructor(private readonly options: SettlementOptions) {
    this.failures = failuresExchangeName(options.queue);
    this.consumed = labelled(options.metrics.consumed);
    this.deadLettered = labelled(options.metrics.deadLettered);
  }

  /** The handler returned: ack. */
  handled(acks: AckBatcher, msg: Message, eventType: string, outcome: HandlerOutcome): DeliveryOutcome {
    acks.ack(msg);
    this.consumed(this.options.queue, eventType, outcome === 'duplicate' ? 'duplicate' : 'ack').inc();
    return 'success';
  }

  /** The delivery failed (unreadable, unroutable, or its handler threw): retry, dead-letter or requeue. */
  async failed(acks: AckBatcher, msg: Message, eventType: string, error: unknown, log: Logger, event?: AnyEvent): Promise<DeliveryOutcome> {
    await this.routeFailure(acks, msg, eventType, error, log, event);
    return error instanceof DeferredError ? 'deferred' : isPermanent(error) ? 'permanent' : 'transient';
  }

  private async routeFailure(
    acks: AckBatcher,
    msg: Message,
    eventType: string,
    error: unknown,
    log: Logger,
    event?: AnyEvent,
  ): Promise<void> {
    const { queue, publisher, topology, service } = this.options;
    const failures = this.failures;
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
      this.consumed(queue, eventTypeLabel(eventType), 'deferred').inc();
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
      this.consumed(queue, label, outcome).inc();
      if (action.kind === 'dead-letter') this.deadLettered(queue, label, action.reasonCode).inc();
    } catch (publishError) {
      // The copy was not confirmed: hand the original back to the broker after a pause rather than lose it.
      log.error({ err: (publishError as Error).message }, 'could not route failed message; requeueing');
      await new Promise((r) => setTimeout(r, REQUEUE_PAUSE_MS));
      acks.requeue(msg);
    }
  }
}
