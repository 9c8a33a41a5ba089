import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Message } from 'amqplib';
import { createEvent, decodeEvent } from '../events/codec';
import type { AnyEvent } from '../events/catalog';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { childSpan, formatTraceparent, parseTraceparent, type TraceContext } from '../observability/trace';
import { tracer } from '../observability/tracing';
import { recordDeliveryFailure, traceProcess } from '../observability/tracing-messaging';
import type { AckBatcher } from './ack-batcher';
import { compose, type EventHandler, type HandlerMap, type MessageContext, type Middleware, type Pipeline } from './context';
import {
  MalformedMessageError,
  MessageTooLargeError,
  UnexpectedRouteError,
  UnknownEventError,
  UnsupportedContentTypeError,
} from '../errors/errors';
import { KillSwitch, type DeliveryOutcome, type KillSwitchSettings } from './kill-switch';
import type { Publisher } from './publisher';
import { attemptOf } from './failure-copy';
import { DeliverySettlement } from './settle-delivery';
import { Subscription } from './subscription';
import { failuresExchangeName, type Topology } from './topology';
import type { TopologyLook } from './topology-check';
import { expectedRoute } from './trusted-headers';

export interface ConsumerOptions {
  queue: string;
  topology: Topology;
  /** How the topology is looked at (passively) and where what is missing is reported. */
  look?: TopologyLook;
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
  /** How long consumption may stay lost (broker cancel, closed channel) before `healthy` turns false. @defaultValue 60000 */
  recoveryDeadlineMs?: number;
  /** Pauses consumption after a run of transient failures; off when absent or its threshold is 0. */
  killSwitch?: KillSwitchSettings;
  log: Logger;
  metrics: Metrics;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
const DEFAULT_RECOVERY_DEADLINE_MS = 60_000;

/**
 * Consumes one queue with manual acks. The handler returns (ack) or throws; the consumer, never the handler,
 * turns a failure into a delayed retry (a copy to the queue's own retry tier, then ack) or a dead-letter
 * (a copy with the reason to `<queue>.dlq`, then ack), both through the queue's own failures exchange.
 * The original is acked only once the broker confirmed its copy. Its {@link Subscription} keeps the broker
 * consumer alive; its optional {@link KillSwitch} pauses it while a downstream keeps failing.
 */
export class Consumer {
  private readonly subscription: Subscription;
  private readonly killSwitch?: KillSwitch;
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly log: Logger;
  /** Its queue's failures exchange: the one route besides the events exchange and a replay (trusted-headers.ts). */
  private readonly failuresExchange: string;
  private inFlight = 0;
  /** The in-flight gauge of this queue: one label set, so its child is made once. */
  private readonly inFlightGauge: { inc(): void; dec(): void };
  /** Acks, retries, dead-letters or requeues each delivery: the only code that settles one. */
  private readonly settle: DeliverySettlement;

  constructor(
    connection: AmqpConnectionManager,
    private readonly options: ConsumerOptions,
  ) {
    this.log = options.log.child({ queue: options.queue });
    this.failuresExchange = failuresExchangeName(options.queue);
    this.inFlightGauge = options.metrics.inFlight.labels(options.queue);
    this.settle = new DeliverySettlement(options);
    for (const [eventType, handler] of Object.entries(options.handlers)) {
      this.pipelines.set(eventType, compose(options.middleware, handler as EventHandler));
    }
    this.subscription = new Subscription(connection, {
      queue: options.queue,
      topology: options.topology,
      ...(options.look ? { look: options.look } : {}),
      prefetch: options.prefetch,
      recoveryDeadlineMs: options.recoveryDeadlineMs ?? DEFAULT_RECOVERY_DEADLINE_MS,
      log: this.log,
      metrics: options.metrics,
      onMessage: (acks, msg) => this.onDelivery(acks, msg),
    });
    if (options.killSwitch && options.killSwitch.threshold > 0) {
      const target = { pause: () => this.subscription.pause(), resume: () => this.subscription.resume(), probe: () => this.probe() };
      this.killSwitch = new KillSwitch(options.killSwitch, target, this.log, options.metrics.consumerPaused.labels(options.queue));
    }
  }

  async ready(): Promise<void> {
    await this.subscription.ready();
  }

  /** True while a broker consumer is registered on an open channel. */
  get consuming(): boolean {
    return this.subscription.consuming;
  }

  /** Ready to take work: consuming, or paused on purpose by the kill switch (which has its own metric and alert). */
  get isReady(): boolean {
    return this.subscription.consuming || (this.killSwitch?.isOpen ?? false);
  }

  /** False once consumption has been lost for longer than the recovery deadline: the process should be restarted. */
  get healthy(): boolean {
    return this.subscription.healthy;
  }

  /** Stops taking deliveries, waits for in-flight handlers up to `timeoutMs`, then closes the channel. */
  async stop(timeoutMs: number): Promise<void> {
    this.subscription.stop();
    this.killSwitch?.stop();
    await this.subscription.cancel();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.inFlight > 0)
      this.log.warn({ inFlight: this.inFlight }, 'shutdown deadline passed with handlers in flight; they will be redelivered');
    await this.subscription.close();
  }

  private onDelivery(acks: AckBatcher, msg: Message): void {
    // handle() never rejects (its rejection handler is only for the linter); without a kill switch there is
    // nothing to wait for, so no promise per delivery.
    const handled = this.handle(acks, msg);
    if (this.killSwitch) handled.then(this.recordOutcome, () => undefined);
  }

  private readonly recordOutcome = (outcome: DeliveryOutcome): void => {
    try {
      this.killSwitch?.record(outcome);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'kill switch failed to count a delivery');
    }
  };

  /** The kill switch's probe: one message by `basic.get`, processed as any delivery. */
  private async probe(): Promise<DeliveryOutcome | 'empty'> {
    const got = await this.subscription.getOne();
    return got ? this.handle(got.acks, got.msg) : 'empty';
  }

  private async handle(acks: AckBatcher, msg: Message): Promise<DeliveryOutcome> {
    acks.track(msg);
    this.inFlight++;
    this.inFlightGauge.inc();
    try {
      return await this.process(acks, msg);
    } catch (err) {
      // process() settles every delivery (settle-delivery.ts: ack, retry or dead-letter copy, requeue); a rejection here would
      // be a bug in that path, logged rather than left to end the process as an unhandled rejection.
      this.log.error({ err: (err as Error).message }, 'delivery processing failed');
      return 'transient';
    } finally {
      this.inFlight--;
      this.inFlightGauge.dec();
    }
  }

  /**
   * The span is made before decoding, so that even a message that cannot be read is logged (and traced) under
   * its trace. With tracing off it is only ids for the log lines; with tracing on, an exported span.
   */
  private process(acks: AckBatcher, msg: Message): Promise<DeliveryOutcome> {
    if (!tracer) return this.processUnder(acks, msg, childSpan(parseTraceparent(msg.properties.headers?.['traceparent'])));
    return traceProcess(tracer, msg, this.options.queue, attemptOf(msg, this.failuresExchange), (span) =>
      this.processUnder(acks, msg, span),
    );
  }

  private async processUnder(acks: AckBatcher, msg: Message, span: TraceContext): Promise<DeliveryOutcome> {
    let event: AnyEvent | undefined;
    let ctx: MessageContext | undefined;
    try {
      event = this.decode(msg);
      ctx = this.context(event, msg, span);
      const pipeline = this.pipelines.get(event.eventType);
      if (!pipeline) throw new UnknownEventError(`queue ${this.options.queue} has no handler for ${event.eventType}`);
      return this.settle.handled(acks, msg, event.eventType, await pipeline(ctx));
    } catch (error) {
      recordDeliveryFailure(error);
      // The event's own logger once it was read; a message that could not be read is logged under its trace.
      const log = ctx ? ctx.log : this.log.child({ traceId: span.traceId });
      return this.settle.failed(acks, msg, event?.eventType ?? 'unknown', error, log, event);
    }
  }

  private decode(msg: Message): AnyEvent {
    const { queue, topology } = this.options;
    if (!expectedRoute(msg.fields.exchange, this.failuresExchange, topology.exchange)) {
      throw new UnexpectedRouteError(
        `delivered through exchange ${JSON.stringify(msg.fields.exchange)}, which ${queue} is not bound to by Warren`,
      );
    }
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

  private context(event: AnyEvent, msg: Message, span: TraceContext): MessageContext {
    const publisher = this.options.publisher;
    const parentLog = this.log;
    let log: Logger | undefined;
    return {
      event,
      queue: this.options.queue,
      attempt: attemptOf(msg, this.failuresExchange),
      // This delivery's span (made on first use), so that work it causes later (an outbox entry) is its child.
      get traceparent() {
        return formatTraceparent(span);
      },
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
        // Published under this delivery's span: the publish is its child (with tracing on, a span of its own).
        await publisher.publishEvent(next as AnyEvent, { traceparent: formatTraceparent(span) });
        return next;
      },
    };
  }
}

/** The broker's own count of earlier deliveries: quorum queues keep it in `x-delivery-count`. */
function deliveryCountOf(msg: Message): number {
  const value = Number(msg.properties.headers?.['x-delivery-count']);
  return Number.isInteger(value) && value >= 0 ? value : 0;
}
