import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import type { QueueType } from '../../../shared/config/config';

/** Plain amqplib, no manager, no middleware: the ceiling every Warren number is divided by. */
export async function connectRaw(url: string, name: string): Promise<ChannelModel> {
  return amqplib.connect(url, { noDelay: true, clientProperties: { connection_name: `bench-${name}` } });
}

export function queueArgs(queueType: QueueType): Options.AssertQueue {
  return { durable: true, arguments: { 'x-queue-type': queueType } };
}

export async function declareQueue(
  ch: Channel,
  name: string,
  queueType: QueueType,
  exchange?: string,
  bindings: readonly string[] = [],
): Promise<void> {
  await ch.assertQueue(name, queueArgs(queueType));
  for (const key of bindings) await ch.bindQueue(name, exchange!, key);
}

export interface Outgoing {
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: Options.Publish;
}

export interface PublishRun {
  /** performance.now() when the first message went out. */
  startedAt: number;
  /** performance.now() of each confirm, in confirm order. */
  confirmedAt: number[];
  /** Milliseconds from each publish to its confirm. */
  latenciesMs: number[];
  /** Publishes refused (Warren's bounded buffer full: the broker fell behind the offered rate). */
  refused?: number;
}

/**
 * Pipelined confirmed publishing: up to `window` messages in flight, and the socket's `drain` respected when
 * amqplib's buffer fills. A nack fails the run.
 */
export async function publishPipelined(
  ch: ConfirmChannel,
  count: number,
  window: number,
  next: (i: number) => Outgoing,
): Promise<PublishRun> {
  const run: PublishRun = { startedAt: performance.now(), confirmedAt: [], latenciesMs: [] };
  let inFlight = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  for (let i = 0; i < count && !failure; i++) {
    while (inFlight >= window) await new Promise<void>((r) => (wake = r));
    const m = next(i);
    const sentAt = performance.now();
    inFlight++;
    const ok = ch.publish(m.exchange, m.routingKey, m.content, m.options, (err) => {
      const now = performance.now();
      inFlight--;
      if (err) failure ??= err instanceof Error ? err : new Error(String(err));
      run.confirmedAt.push(now);
      run.latenciesMs.push(now - sentAt);
      const w = wake;
      wake = undefined;
      w?.();
    });
    if (!ok) await once(ch, 'drain');
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  if (failure) throw failure;
  return run;
}

/** Open-loop publishing at a fixed rate (a publish every 1/rate s, however slow the confirms): latency without queueing. */
export async function publishPaced(
  ch: ConfirmChannel,
  ratePerSecond: number,
  durationMs: number,
  next: (i: number) => Outgoing,
): Promise<PublishRun> {
  const run: PublishRun = { startedAt: performance.now(), confirmedAt: [], latenciesMs: [] };
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = run.startedAt + (i * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const m = next(i);
    const sentAt = performance.now();
    pending.push(
      new Promise<void>((resolve, reject) => {
        ch.publish(m.exchange, m.routingKey, m.content, m.options, (err) => {
          if (err) return reject(err instanceof Error ? err : new Error(String(err)));
          const now = performance.now();
          run.confirmedAt.push(now);
          run.latenciesMs.push(now - sentAt);
          resolve();
        });
      }),
    );
  }
  await Promise.all(pending);
  return run;
}

/**
 * Counts what arrives at a sink queue (exclusive, classic, auto-ack: as cheap for the broker as a queue gets):
 * the arrival time of every message, and of each `correlationId` once.
 */
export class Sink {
  readonly arrivals: number[] = [];
  readonly byCorrelation = new Map<string, number>();
  readonly byRoutingKey = new Map<string, number>();
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(
    private readonly channel: Channel,
    readonly queue: string,
  ) {}

  static async open(connection: ChannelModel, exchange: string, bindings: readonly string[]): Promise<Sink> {
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, durable: false, arguments: { 'x-queue-type': 'classic' } });
    for (const key of bindings) await channel.bindQueue(queue, exchange, key);
    const sink = new Sink(channel, queue);
    await channel.consume(queue, (m) => m && sink.onMessage(m), { noAck: true });
    return sink;
  }

  private onMessage(m: ConsumeMessage): void {
    const now = performance.now();
    this.arrivals.push(now);
    const id = m.properties.correlationId as string | undefined;
    if (id && !this.byCorrelation.has(id)) this.byCorrelation.set(id, now);
    this.byRoutingKey.set(m.fields.routingKey, (this.byRoutingKey.get(m.fields.routingKey) ?? 0) + 1);
    this.waiters = this.waiters.filter((w) => {
      if (this.arrivals.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `count` messages in all have arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    if (this.arrivals.length >= count) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sink ${this.queue}: ${this.arrivals.length} of ${count} arrived in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  reset(): void {
    this.arrivals.length = 0;
    this.byCorrelation.clear();
    this.byRoutingKey.clear();
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
