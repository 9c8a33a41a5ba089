import { performance } from 'node:perf_hooks';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { routingKeyOf, type AnyEvent } from '../events/catalog';
import type { Logger } from '../observability/logger';
import { eventTypeLabel, labelled, type Metrics } from '../observability/metrics';
import { tracer } from '../observability/tracing';
import { tracePublish } from '../observability/tracing-messaging';
import { PublishError } from './errors';
import { assertTopology, type Topology } from './topology';

export interface PublisherOptions {
  exchange: string;
  /** The service's topology, re-asserted on every reconnect of the publishing channel. */
  topology: Topology;
  /** How long a publish waits for the broker's confirm. @defaultValue 10000 */
  timeoutMs: number;
  /** Publishes awaiting a confirm or a connection before new ones are refused. @defaultValue 10000 */
  bufferLimit: number;
  /**
   * Bytes of content awaiting a confirm or a connection before new publishes are refused (one publish is always
   * let through when nothing is pending, whatever its size).
   */
  bufferBytes: number;
  appId: string;
  log: Logger;
  metrics: Metrics;
}

export interface PublishProperties extends Options.Publish {
  messageId: string;
}

/**
 * Publishes persistent, mandatory messages and settles each Promise on the broker's confirm: resolved when the
 * broker has taken the message, rejected with a {@link PublishError} on nack, return (unroutable), timeout, or a
 * full buffer. While the broker is unreachable, publishes wait in amqp-connection-manager's queue (bounded here);
 * confirms lost to a closed channel are re-published on reconnect.
 */
export class Publisher {
  private readonly channel: ChannelWrapper;
  private readonly returned = new Set<string>();
  private pending = 0;
  private pendingBytes = 0;
  /** Every publish's properties before its own: persistent, mandatory, JSON, this service's app id. */
  private readonly defaults: Options.Publish;
  private readonly published: (routingKey: string, eventType: string, outcome: string) => { inc(): void };
  private readonly confirmSeconds: (routingKey: string) => { observe(seconds: number): void };
  private readonly readDepth = () => this.pending;

  constructor(
    connection: AmqpConnectionManager,
    private readonly options: PublisherOptions,
  ) {
    this.defaults = { persistent: true, mandatory: true, contentType: 'application/json', appId: options.appId };
    this.published = labelled(options.metrics.published);
    this.confirmSeconds = labelled(options.metrics.publishConfirmSeconds);
    options.metrics.publishBufferDepths.add(this.readDepth);
    this.channel = connection.createChannel({
      name: 'publisher',
      confirm: true,
      publishTimeout: options.timeoutMs,
      setup: async (channel: ConfirmChannel) => {
        channel.on('return', (message: ConsumeMessage) => this.onReturn(message));
        await assertTopology(channel, options.topology);
      },
    });
    this.channel.on('error', (err: Error) => options.log.error({ err: err.message }, 'publisher channel error'));
  }

  /** Resolves once the topology is declared and the channel is open. */
  async ready(): Promise<void> {
    await this.channel.waitForConnect();
  }

  /** Publishes an event to the events exchange under its routing key, with AMQP properties mirroring its metadata. */
  async publishEvent(event: AnyEvent, headers: Record<string, unknown> = {}): Promise<void> {
    const content = Buffer.from(JSON.stringify(event));
    await this.publish(this.options.exchange, routingKeyOf(event.eventType), content, {
      messageId: event.eventId,
      type: event.eventType,
      correlationId: event.correlationId,
      timestamp: Math.floor(Date.parse(event.timestamp) / 1000),
      // The version is in the body; a headers table costs amqplib an encoding pass per publish, so only when needed.
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    });
  }

  /**
   * Publishes raw content (retry and dead-letter copies, replays). `exchange` '' addresses a queue by name. A
   * `traceparent` header names the span the publish belongs to; with tracing on, it is replaced by the publish's own.
   */
  publish(exchange: string, routingKey: string, content: Buffer, properties: PublishProperties): Promise<void> {
    // Not async: with tracing off this is one check and a direct call, no extra promise per publish.
    if (!tracer) return this.publishConfirmed(exchange, routingKey, content, properties);
    return tracePublish(tracer, exchange, routingKey, content.length, properties, (traced) =>
      this.publishConfirmed(exchange, routingKey, content, traced),
    );
  }

  /**
   * Not async, and one `.then` for the confirm: the publish path was five promise hops deep per message; each
   * layer an async function (a promise and a frame of garbage). Counters and the confirm timer are bound children.
   */
  private publishConfirmed(exchange: string, routingKey: string, content: Buffer, properties: PublishProperties): Promise<void> {
    // A failure copy or a replay carries the type its first publisher wrote: labelled only if the catalog knows it.
    const eventType = eventTypeLabel(properties.type);
    const { bufferBytes, bufferLimit } = this.options;
    if (this.pending >= bufferLimit || (this.pending > 0 && this.pendingBytes + content.length > bufferBytes)) {
      this.published(routingKey, eventType, 'buffer_full').inc();
      return Promise.reject(
        new PublishError(
          `publish buffer full (${this.pending} messages, ${this.pendingBytes} bytes awaiting confirm; limits ${bufferLimit} and ${bufferBytes})`,
          'buffer_full',
        ),
      );
    }
    this.pending++;
    this.pendingBytes += content.length;
    const started = performance.now();
    const release = () => {
      this.pending--;
      this.pendingBytes -= content.length;
    };
    return this.publishUntilSettled(exchange, routingKey, content, properties, Date.now() + this.options.timeoutMs).then(
      () => {
        release();
        this.confirmSeconds(routingKey).observe((performance.now() - started) / 1000);
        // The broker sends basic.return before the confirm, so the mark is already set when the confirm resolves.
        if (this.returned.delete(properties.messageId)) {
          this.published(routingKey, eventType, 'returned').inc();
          throw new PublishError(`unroutable: no queue bound for ${exchange || '(default)'}/${routingKey}`, 'returned');
        }
        this.published(routingKey, eventType, 'confirmed').inc();
      },
      (error: unknown) => {
        release();
        this.returned.delete(properties.messageId);
        const outcome = /timeout/i.test(String((error as Error)?.message)) ? 'timeout' : 'nacked';
        this.published(routingKey, eventType, outcome).inc();
        throw new PublishError(`publish to ${exchange || '(default)'}/${routingKey} ${outcome}: ${(error as Error)?.message}`, outcome);
      },
    );
  }

  /**
   * A confirm lost to a closed channel is not a broker nack: amqplib fails it with "channel closed" before
   * amqp-connection-manager notices the channel is gone, so it is published again (on the next channel) until
   * the broker confirms or nacks it, or the deadline passes. Consumers dedupe the possible second copy by id.
   */
  private publishUntilSettled(
    exchange: string,
    routingKey: string,
    content: Buffer,
    properties: PublishProperties,
    deadline: number,
  ): Promise<void> {
    const timeout = deadline - Date.now();
    if (timeout <= 0) return Promise.reject(new Error('timeout waiting for a confirm'));
    return this.channel.publish(exchange, routingKey, content, { ...this.defaults, ...properties, timeout }).then(
      () => undefined,
      async (error: unknown) => {
        if (!/channel closed|connection closed/i.test(String((error as Error)?.message))) throw error;
        await new Promise((r) => setTimeout(r, 20));
        return this.publishUntilSettled(exchange, routingKey, content, properties, deadline);
      },
    );
  }

  /** Publishes waiting for a confirm or for a connection. */
  get depth(): number {
    return this.pending;
  }

  /** Waits (up to `timeoutMs`) for outstanding confirms, then closes the channel. */
  async close(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.options.metrics.publishBufferDepths.delete(this.readDepth);
    await this.channel.close();
  }

  private onReturn(message: ConsumeMessage): void {
    const id = message.properties.messageId as string | undefined;
    if (id) this.returned.add(id);
    this.options.log.warn({ routingKey: message.fields.routingKey, messageId: id }, 'message returned unroutable');
  }
}
