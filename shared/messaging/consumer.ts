import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConsumeMessage } from 'amqplib';
import { createEvent, decodeEvent } from '../events/codec';
import type { AnyEvent } from '../events/catalog';
import type { Logger } from '../observability/logger';
import { labelled, type Metrics } from '../observability/metrics';
import { childSpan, formatTraceparent, parseTraceparent, type TraceContext } from '../observability/trace';
import { AckBatcher } from './ack-batcher';
import { compose, type EventHandler, type HandlerMap, type MessageContext, type Middleware, type Pipeline } from './context';
import { MalformedMessageError, MessageTooLargeError, UnknownEventError, UnsupportedContentTypeError } from './errors';
import type { Publisher } from './publisher';
import { BROKER_HEADERS, decideFailure, describeFailure, H } from './retry-policy';
import { assertTopology, DEAD_LETTER_ROUTING_KEY, failuresExchangeName, retryRoutingKey, type Topology } from './topology';

export interface ConsumerOptions {
  queue: string;
  topology: Topology;
  /** Unacked deliveries on this consumer. */
  prefetch: number;
  handlers: HandlerMap;
  /** Run outermost first around every handler. */
  middleware: readonly Middleware[];
  /** Retry and dead-letter copies go through the service's confirmed publisher. */
  publisher: Publisher;
  service: string;
  /** Bodies larger than this are dead-lettered unread. @defaultValue 65536 */
  maxBodyBytes?: number;
  log: Logger;
  metrics: Metrics;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/**
 * Consumes one queue with manual acks. The handler returns (ack) or throws; the consumer, never the handler,
 * turns a failure into a delayed retry (a copy to the queue's own retry tier, then ack) or a dead-letter
 * (a copy with the reason to `<queue>.dlq`, then ack), both through the queue's own failures exchange.
 * The original is acked only once the broker confirmed its copy.
 */
export class Consumer {
  private readonly channel: ChannelWrapper;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly log: Logger;
  private active?: { channel: Channel; consumerTag: string; acks: AckBatcher };
  private inFlight = 0;
  /** The in-flight gauge of this queue: one label set, so its child is made once. */
  private readonly inFlightGauge: { inc(): void; dec(): void };
  private stopping = false;

  constructor(
    connection: AmqpConnectionManager,
    private readonly options: ConsumerOptions,
  ) {
    this.log = options.log.child({ queue: options.queue });
    this.inFlightGauge = options.metrics.inFlight.labels(options.queue);
    for (const [eventType, handler] of Object.entries(options.handlers)) {
      this.pipelines.set(eventType, compose(options.middleware, handler as EventHandler));
    }
    this.channel = connection.createChannel({
      name: `consumer:${options.queue}`,
      confirm: false,
      setup: (channel: Channel) => this.setup(channel),
    });
    this.channel.on('error', (err: Error) => this.log.error({ err: err.message }, 'consumer channel error'));
  }

  async ready(): Promise<void> {
    await this.channel.waitForConnect();
  }

  /** True while a broker consumer is registered on an open channel. */
  get consuming(): boolean {
    return !this.stopping && this.active !== undefined;
  }

  /** Stops taking deliveries, waits for in-flight handlers up to `timeoutMs`, then closes the channel. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const active = this.active;
    this.active = undefined;
    if (active) await active.channel.cancel(active.consumerTag).catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.inFlight > 0)
      this.log.warn({ inFlight: this.inFlight }, 'shutdown deadline passed with handlers in flight; they will be redelivered');
    active?.acks.flush();
    await this.channel.close().catch(() => undefined);
  }

  private async setup(channel: Channel): Promise<void> {
    await assertTopology(channel, this.options.topology);
    if (this.stopping) return;
    await channel.prefetch(this.options.prefetch);
    const acks = new AckBatcher(channel, this.options.prefetch, (err) =>
      this.log.debug({ err: err.message }, 'settle on a closed channel; the broker will redeliver'),
    );
    const { consumerTag } = await channel.consume(this.options.queue, (msg) => this.onDelivery(channel, acks, msg), { noAck: false });
    this.active = { channel, consumerTag, acks };
    channel.once('close', () => {
      if (this.active?.channel === channel) this.active = undefined;
    });
    this.log.info({ prefetch: this.options.prefetch }, 'consuming');
  }

  private onDelivery(channel: Channel, acks: AckBatcher, msg: ConsumeMessage | null): void {
    if (!msg) {
      this.log.warn('consumer cancelled by the broker');
      if (this.active?.channel === channel) this.active = undefined;
      return;
    }
    acks.track(msg);
    this.inFlight++;
    this.inFlightGauge.inc();
    // process() settles every delivery itself (ack, retry or dead-letter copy, requeue); a rejection here would be a
    // bug in that path, logged rather than left to end the process as an unhandled rejection.
    this.process(acks, msg)
      .catch((err: Error) => this.log.error({ err: err.message }, 'delivery processing failed'))
      .finally(() => {
        this.inFlight--;
        this.inFlightGauge.dec();
      });
  }

  private async process(acks: AckBatcher, msg: ConsumeMessage): Promise<void> {
    let eventType = 'unknown';
    // The span is made before decoding, so that even a message that cannot be read is logged under its trace.
    const span = childSpan(parseTraceparent(msg.properties.headers?.['traceparent']));
    let log = (): Logger => this.log.child({ traceId: span.traceId });
    let event: AnyEvent | undefined;
    try {
      event = this.decode(msg);
      eventType = event.eventType;
      const ctx = this.context(event, msg, span);
      log = () => ctx.log;
      const pipeline = this.pipelines.get(eventType);
      if (!pipeline) throw new UnknownEventError(`queue ${this.options.queue} has no handler for ${eventType}`);
      const outcome = await pipeline(ctx);
      acks.ack(msg);
      labelled(this.options.metrics.consumed)(this.options.queue, eventType, outcome === 'duplicate' ? 'duplicate' : 'ack').inc();
    } catch (error) {
      await this.fail(acks, msg, eventType, error, log(), event);
    }
  }

  private decode(msg: ConsumeMessage): AnyEvent {
    const max = this.options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    if (msg.content.length > max) throw new MessageTooLargeError(`body of ${msg.content.length} bytes is over the ${max}-byte limit`);
    const contentType = msg.properties.contentType as string | undefined;
    // Seed-style publishers set no content type; a declared one must be JSON.
    if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType)) {
      throw new UnsupportedContentTypeError(`content type ${JSON.stringify(contentType)} is not application/json`);
    }
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch (error) {
      throw new MalformedMessageError(`body is not valid JSON: ${(error as Error).message}`);
    }
    return decodeEvent(body);
  }

  private context(event: AnyEvent, msg: ConsumeMessage, span: TraceContext): MessageContext {
    const publisher = this.options.publisher;
    const parentLog = this.log;
    let log: Logger | undefined;
    const headers = msg.properties.headers;
    const traceparent: unknown = headers?.['traceparent'];
    return {
      event,
      queue: this.options.queue,
      attempt: attemptOf(msg),
      ...(typeof traceparent === 'string' ? { traceparent } : {}),
      redelivered: msg.fields.redelivered,
      deliveryCount: deliveryCountOf(msg),
      // Made on first use: most deliveries log nothing at the service's level, and a child logger (its bindings
      // scrubbed and redacted) costs about as much as the rest of the delivery's own work.
      get log() {
        log ??= parentLog.child({
          orderId: event.orderId,
          correlationId: event.correlationId,
          eventId: event.eventId,
          eventType: event.eventType,
          traceId: span.traceId,
        });
        return log;
      },
      async publish(eventType, payload, options) {
        const next = createEvent(eventType, payload, {
          correlationId: event.correlationId,
          causationId: event.eventId,
          ...(options?.eventId ? { eventId: options.eventId } : {}),
        });
        await publisher.publishEvent(next as AnyEvent, { traceparent: formatTraceparent(childSpan(span)) });
        return next;
      },
    };
  }

  private async fail(
    acks: AckBatcher,
    msg: ConsumeMessage,
    eventType: string,
    error: unknown,
    log: Logger,
    event?: AnyEvent,
  ): Promise<void> {
    const { queue, metrics, publisher, topology } = this.options;
    const attempt = attemptOf(msg);
    const action = decideFailure(error, attempt, topology.retryDelaysMs);
    const { reason, errorClass } = describeFailure(error);
    const now = new Date().toISOString();
    const headers: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(msg.properties.headers ?? {})) if (!BROKER_HEADERS.test(key)) headers[key] = value;
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
        await publisher.publish(failuresExchangeName(queue), retryRoutingKey(action.delayMs), msg.content, {
          ...properties,
          headers: { ...headers, [H.attempt]: action.nextAttempt },
        });
        log.warn({ attempt, delayMs: action.delayMs, errorClass, reason }, 'handler failed; retry scheduled');
      } else {
        const correlationId = event?.correlationId ?? (msg.properties.correlationId as string | undefined);
        await publisher.publish(failuresExchangeName(queue), DEAD_LETTER_ROUTING_KEY, msg.content, {
          ...properties,
          headers: {
            ...headers,
            [H.attempt]: attempt,
            [H.reason]: reason,
            [H.reasonCode]: action.reasonCode,
            [H.errorClass]: errorClass,
            [H.service]: this.options.service,
            [H.deadLetteredAt]: now,
            ...(correlationId ? { [H.correlationId]: correlationId } : {}),
          },
        });
        log.error({ attempt, errorClass, reason, reasonCode: action.reasonCode }, 'message dead-lettered');
      }
      acks.ack(msg);
      labelled(metrics.consumed)(queue, eventType, action.kind === 'retry' ? 'retry' : 'dead_letter').inc();
      if (action.kind === 'dead-letter') metrics.deadLettered.labels(queue, eventType, action.reasonCode).inc();
    } catch (publishError) {
      // The copy was not confirmed: hand the original back to the broker after a pause rather than lose it.
      log.error({ err: (publishError as Error).message }, 'could not route failed message; requeueing');
      await new Promise((r) => setTimeout(r, 1000));
      acks.requeue(msg);
    }
  }
}

export function attemptOf(msg: ConsumeMessage): number {
  const value = Number(msg.properties.headers?.[H.attempt]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** The broker's own count of earlier deliveries: quorum queues keep it in `x-delivery-count`. */
function deliveryCountOf(msg: ConsumeMessage): number {
  const value = Number(msg.properties.headers?.['x-delivery-count']);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}

function copyProperties(msg: ConsumeMessage) {
  const p = msg.properties;
  return {
    ...(p.type ? { type: p.type as string } : {}),
    ...(p.correlationId ? { correlationId: p.correlationId as string } : {}),
    ...(p.timestamp ? { timestamp: p.timestamp as number } : {}),
    ...(p.contentType ? { contentType: p.contentType as string } : {}),
    ...(p.appId ? { appId: p.appId as string } : {}),
  };
}
