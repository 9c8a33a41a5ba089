import { performance } from 'node:perf_hooks';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { routingKeyOf, type AnyEvent } from '../events/catalog';
import type { Logger } from '../observability/logger';
import { eventTypeLabel, labelled, type Metrics } from '../observability/metrics';
import { tracer } from '../observability/tracing';
import { tracePublish } from '../observability/tracing-messaging';
import { PublishError } from '../errors/errors';
import { ConfirmDeadlines } from './confirm-deadlines';
import { recoveryDelayMs } from './recovery-backoff';
import type { Topology } from './topology';
import { ensureTopology, type TopologyLook } from './topology-check';

export interface PublisherOptions {
  exchange: string;
  /** The service's topology, looked at on every reconnect of the publishing channel. */
  topology: Topology;
  /** How the topology is looked at (passively) and where what is missing is reported. */
  look?: TopologyLook;
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
  /**
   * Routing keys of events no queue of the fleet binds (workers/registry.ts `unconsumedKeys`): published without
   * `mandatory`, so that an event a new service publishes before any consumer exists is dropped by the broker, as
   * it has nowhere to go, instead of returned as a failure. Every other event stays mandatory: a queue deleted under
   * a bound key is still a failed publish, never a silent loss. @defaultValue none
   */
  unconsumed?: ReadonlySet<string>;
  log: Logger;
  metrics: Metrics;
}

export interface PublishProperties extends Options.Publish {
  messageId: string;
}

/**
 * Publishes persistent, mandatory messages and settles each Promise on the broker's confirm: resolved when the
 * broker has taken the message, rejected with a {@link PublishError} on nack, return (unroutable), timeout, or a
 * full buffer. While the channel is open, publishes go straight onto it; while the broker is unreachable (or the
 * socket is full), they wait in amqp-connection-manager's queue (bounded here); confirms lost to a closed channel
 * are re-published on reconnect.
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
  /** The open confirm channel while it can take writes: publishes skip the manager's queue (see `publishDirect`). */
  private direct: ConfirmChannel | undefined;
  private readonly deadlines = new ConfirmDeadlines();
  /** The wrapper's channel while it is open, whether or not it takes writes now. */
  private current: ConfirmChannel | undefined;
  private reopening: NodeJS.Timeout | undefined;
  /** Channels the broker closed in a row under a live connection: the next reopen waits longer. */
  private reopens = 0;
  private closing = false;

  constructor(
    private readonly connection: AmqpConnectionManager,
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
        this.attach(channel);
        // Missing topology is reported (readiness names it) and does not hold the channel back: a publish to a
        // missing exchange fails on its own, and the channel comes back once the operator has declared it.
        await ensureTopology(channel, options.topology, options.look, 'publisher').catch((err: Error) =>
          options.log.warn({ err: err.message }, 'publisher topology check'),
        );
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
    const routingKey = routingKeyOf(event.eventType);
    const properties: PublishProperties = {
      messageId: event.eventId,
      type: event.eventType,
      correlationId: event.correlationId,
      timestamp: Math.floor(Date.parse(event.timestamp) / 1000),
      // The version is in the body; a headers table costs amqplib an encoding pass per publish, so only when needed.
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    };
    // Set, not spread: most services have no unconsumed key, and a spread costs every publish an object.
    if (this.options.unconsumed?.has(routingKey)) properties.mandatory = false;
    await this.publish(this.options.exchange, routingKey, content, properties);
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
    const options = { ...this.defaults, ...properties };
    // Straight onto the channel when it is open, has room and nothing waits in the manager's queue (which keeps
    // its order): amqp-connection-manager's path costs a promise wrapper, a timer and an O(in-flight) search per
    // publish; without it the publisher's client CPU went from 71 to 56 µs a message (BENCHMARKS.md, changelog).
    // While disconnected or full, its queue waits for us.
    const published =
      this.direct && this.channel.queueLength() === 0
        ? this.publishDirect(this.direct, exchange, routingKey, content, options, deadline)
        : this.channel.publish(exchange, routingKey, content, { ...options, timeout }).then(() => undefined);
    return published.catch(async (error: unknown) => {
      if (!isClosedChannelError(error)) throw error;
      await new Promise((r) => setTimeout(r, 20));
      return this.publishUntilSettled(exchange, routingKey, content, properties, deadline);
    });
  }

  /**
   * One publish on the open confirm channel, settled by its confirm (or nack, or the channel closing: amqplib
   * fails every unconfirmed callback with "channel closed"), or failed at `deadline` by the shared watch.
   */
  private publishDirect(
    channel: ConfirmChannel,
    exchange: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    deadline: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const watched = this.deadlines.watch(deadline, reject);
      try {
        const room = channel.publish(exchange, routingKey, content, options, (err: unknown) => {
          if (!this.deadlines.settle(watched)) return; // timed out already
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          this.reopens = 0;
          resolve();
        });
        // The socket's buffer is full: the message is in it, the next ones wait in the manager's queue until drain.
        if (!room && this.direct === channel) this.direct = undefined;
      } catch (error) {
        this.deadlines.settle(watched);
        // Closed between its 'close' event and our check: amqplib refuses the write, the retry takes the queue. Any
        // other refusal (a property amqplib cannot encode) is this message's alone: the channel stays in use.
        if (isClosedChannelError(error) && this.direct === channel) this.direct = undefined;
        reject(error as Error);
      }
    });
  }

  private attach(channel: ConfirmChannel): void {
    let open = true;
    this.direct = channel;
    this.current = channel;
    channel.on('close', () => {
      open = false;
      if (this.direct === channel) this.direct = undefined;
      if (this.current === channel) this.current = undefined;
      this.reopenLater();
    });
    channel.on('drain', () => {
      if (open && !this.direct) this.direct = channel;
    });
  }

  /** Publishes waiting for a confirm or for a connection. */
  get depth(): number {
    return this.pending;
  }

  /**
   * The broker closed the channel under a connection that stays up (a publish to an exchange the operator removed:
   * 404). amqp-connection-manager opens a new channel only on a reconnect, so one is asked for, after a delay that
   * grows while it keeps happening; publishes meanwhile wait in the manager's queue, as during any outage.
   */
  private reopenLater(): void {
    if (this.closing || this.reopening) return;
    this.reopening = setTimeout(() => {
      this.reopening = undefined;
      if (this.closing || this.current || !this.connection.isConnected()) return;
      this.reopens++;
      this.options.log.warn({ reopens: this.reopens }, 'publisher channel closed by the broker; reconnecting');
      this.connection.reconnect();
    }, recoveryDelayMs(this.reopens));
    this.reopening.unref();
  }

  /** Waits (up to `timeoutMs`) for outstanding confirms, then closes the channel. */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    clearTimeout(this.reopening);
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.options.metrics.publishBufferDepths.delete(this.readDepth);
    this.direct = undefined;
    await this.channel.close();
  }

  private onReturn(message: ConsumeMessage): void {
    const id = message.properties.messageId as string | undefined;
    if (id) this.returned.add(id);
    this.options.log.warn({ routingKey: message.fields.routingKey, messageId: id }, 'message returned unroutable');
  }
}

/** amqplib's "channel closed" / "Channel closed" and the connection's: the message may go again on the next channel. */
function isClosedChannelError(error: unknown): boolean {
  return /channel closed|connection closed/i.test(String((error as Error)?.message));
}
