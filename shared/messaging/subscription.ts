import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, Message } from 'amqplib';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';
import { AckBatcher } from './ack-batcher';
import { recoveryDelayMs } from './recovery-backoff';
import type { Topology } from './topology';
import { ensureTopology, TopologyMissingError, type TopologyLook } from './topology-check';

export interface SubscriptionOptions {
  queue: string;
  topology: Topology;
  /** How its topology is looked at and where what is missing is reported (see topology-check.ts). */
  look?: TopologyLook;
  /** Unacked deliveries on the broker consumer. */
  prefetch: number;
  /** How long consumption may stay lost before {@link Subscription.healthy} turns false. */
  recoveryDeadlineMs: number;
  log: Logger;
  metrics: Metrics;
  /** Each delivery, with the ack batcher of the channel it came on. */
  onMessage: (acks: AckBatcher, msg: Message) => void;
}

/**
 * One queue's broker consumer, kept alive. amqp-connection-manager replays `setup` after a reconnect, but not
 * after a `basic.cancel` (the queue was deleted, or its node went) nor after the broker closed the channel on an
 * error: then nothing would subscribe again. Here either one, or a topology found missing, starts a recovery loop
 * that looks at the topology again (declaring it only where the broker permits) and subscribes again (on a new channel if the old one is gone), with a growing delay, until it
 * consumes again or the subscription stops. {@link healthy} turns false once a loss outlasts the deadline, so an
 * orchestrator restarts a process that cannot recover by itself.
 */
export class Subscription {
  private wrapper: ChannelWrapper;
  /** The current wrapper's channel while it is open, with the batcher of its acks. */
  private open?: { channel: Channel; acks: AckBatcher };
  private active?: { channel: Channel; consumerTag: string };
  private subscribing?: Promise<void>;
  private recovering?: Promise<void>;
  private lostAt?: number;
  /** The last look found its topology missing: the operator's to declare, so no restart is asked for meanwhile. */
  private awaitingTopology = false;
  /** When the connection last came up: tells a broker that answers from one that is away. */
  private lastConnectAt = 0;
  private paused = false;
  private stopping = false;
  private readonly log: Logger;
  private readonly up: { set(value: number): void };
  private readonly firstUp: Promise<void>;
  private markUp!: () => void;

  constructor(
    private readonly connection: AmqpConnectionManager,
    private readonly options: SubscriptionOptions,
  ) {
    this.log = options.log;
    this.up = options.metrics.consumerUp.labels(options.queue);
    this.up.set(0);
    this.firstUp = new Promise((resolve) => (this.markUp = resolve));
    connection.on('connect', () => (this.lastConnectAt = Date.now()));
    this.wrapper = this.openWrapper();
  }

  /**
   * Resolves once it first consumes. Not the wrapper's own `waitForConnect`: a first setup the broker refused is
   * retried on another wrapper, whose connect the first one never sees.
   */
  ready(): Promise<void> {
    return this.firstUp;
  }

  /** True while a broker consumer is registered on an open channel. */
  get consuming(): boolean {
    return !this.stopping && this.active !== undefined;
  }

  /**
   * True unless consumption has been lost for longer than the deadline while the broker was reachable (a pause on
   * purpose is not a loss; a broker outage is not one a restart could mend).
   */
  get healthy(): boolean {
    if (this.lostAt === undefined || this.brokerAway() || this.awaitingTopology) return true;
    return Date.now() - this.lostAt < this.options.recoveryDeadlineMs;
  }

  /**
   * Disconnected, and not connected once since consumption was lost. Not `!isConnected()` alone: when the broker
   * refuses a channel's setup (permissions revoked), amqp-connection-manager drops the connection and connects
   * again every second, so it is down at most instants although the broker answers every time.
   */
  private brokerAway(): boolean {
    return !this.connection.isConnected() && (this.lostAt === undefined || this.lastConnectAt < this.lostAt);
  }

  /** Takes no more deliveries until {@link resume}: cancels the broker consumer; messages stay in the queue. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.cancel();
  }

  async resume(): Promise<void> {
    this.paused = false;
    await this.subscribe().catch((err: Error) => this.lost(`subscribe failed: ${err.message}`));
  }

  /** One message by `basic.get` (the kill switch's probe), or undefined when the queue is empty or no channel is open. */
  async getOne(): Promise<{ acks: AckBatcher; msg: Message } | undefined> {
    const open = this.open;
    if (!open) return undefined;
    const msg = await open.channel.get(this.options.queue, { noAck: false });
    return msg ? { acks: open.acks, msg } : undefined;
  }

  /** Cancels the broker consumer for good; in-flight handlers may still settle until {@link close}. */
  async cancel(): Promise<void> {
    const active = this.active;
    this.active = undefined;
    if (active) await active.channel.cancel(active.consumerTag).catch(() => undefined);
  }

  /** Sends the acks still batched, then closes the channel. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.cancel();
    this.open?.acks.flush();
    this.up.set(0);
    await this.wrapper.close().catch(() => undefined);
  }

  /** Marks the start of a stop: nothing subscribes or recovers from now on. */
  stop(): void {
    this.stopping = true;
  }

  private openWrapper(): ChannelWrapper {
    const wrapper = this.connection.createChannel({
      name: `consumer:${this.options.queue}`,
      confirm: false,
      setup: (channel: Channel) => this.setup(channel),
    });
    wrapper.on('error', (err: Error) => this.log.error({ err: err.message }, 'consumer channel error'));
    return wrapper;
  }

  private async setup(channel: Channel): Promise<void> {
    const acks = new AckBatcher(channel, this.options.prefetch, (err) =>
      this.log.debug({ err: err.message }, 'settle on a closed channel; the broker will redeliver'),
    );
    this.open = { channel, acks };
    channel.once('close', () => this.onClose(channel));
    try {
      await this.ensureTopology(channel);
    } catch (error) {
      if (!(error instanceof TopologyMissingError)) throw error;
      this.awaitingTopology = true;
      // Not a channel failure: the channel stays, and the recovery loop looks again until the operator declares it.
      this.lost(error.message);
      return;
    }
    await this.subscribe();
  }

  /** Its own queue, tiers and DLQ, the events exchange and its failures exchange: what consuming needs. */
  private async ensureTopology(channel: Channel): Promise<void> {
    const { topology, queue, look } = this.options;
    const own = { ...topology, queues: topology.queues.filter((q) => q.name === queue) };
    await ensureTopology(channel, own, look, `consumer:${queue}`);
    this.awaitingTopology = false;
  }

  private subscribe(): Promise<void> {
    const open = this.open;
    if (this.stopping || this.active || !open) return Promise.resolve();
    if (this.paused) return Promise.resolve(this.restored());
    this.subscribing ??= (async () => {
      const { channel, acks } = open;
      await channel.prefetch(this.options.prefetch);
      const { consumerTag } = await channel.consume(
        this.options.queue,
        (msg) => (msg ? this.options.onMessage(acks, msg) : this.onCancel(channel)),
        { noAck: false },
      );
      this.active = { channel, consumerTag };
      // A stop or a pause that came while consume was on the wire: take the consumer back off.
      if (this.stopping || this.paused) return this.cancel();
      this.log.info({ prefetch: this.options.prefetch }, 'consuming');
      this.restored();
    })().finally(() => (this.subscribing = undefined));
    return this.subscribing;
  }

  private restored(): void {
    this.up.set(1);
    this.markUp();
    if (this.lostAt === undefined) return;
    this.options.metrics.consumerRecoveries.labels(this.options.queue).inc();
    this.log.info({ downMs: Date.now() - this.lostAt }, 'consumer recovered');
    this.lostAt = undefined;
  }

  private onCancel(channel: Channel): void {
    if (this.active?.channel !== channel) return;
    this.active = undefined;
    this.lost('consumer cancelled by the broker');
  }

  private onClose(channel: Channel): void {
    if (this.open?.channel === channel) this.open = undefined;
    if (this.active?.channel === channel) this.active = undefined;
    this.lost('consumer channel closed');
  }

  private lost(reason: string): void {
    if (this.stopping || !this.needsRecovery()) return;
    this.up.set(0);
    this.lostAt ??= Date.now();
    this.log.warn(reason + '; recovering');
    this.recovering ??= this.recover().finally(() => (this.recovering = undefined));
  }

  private needsRecovery(): boolean {
    return !this.stopping && (this.paused ? !this.open : !this.active);
  }

  private async recover(): Promise<void> {
    for (let attempt = 0; this.needsRecovery(); attempt++) {
      await new Promise((r) => setTimeout(r, recoveryDelayMs(attempt)));
      if (!this.needsRecovery()) continue;
      if (!this.connection.isConnected()) {
        // A dropped connection is the manager's to restore (its reconnect replays setup, which subscribes); the
        // deadline counts from when the broker is back.
        if (this.brokerAway()) this.lostAt = Date.now();
        continue;
      }
      const open = this.open;
      try {
        if (open) {
          await this.ensureTopology(open.channel);
          await this.subscribe();
        } else {
          // The broker closed the channel: the wrapper would only open another on a reconnect, so replace it.
          const old = this.wrapper;
          this.wrapper = this.openWrapper();
          await old.close().catch(() => undefined);
        }
      } catch (error) {
        // A restart would not declare what is missing: liveness stays green while the operator's step is awaited.
        if (error instanceof TopologyMissingError) this.awaitingTopology = true;
        this.log.warn({ err: (error as Error).message, attempt }, 'consumer recovery attempt failed');
      }
    }
  }
}
