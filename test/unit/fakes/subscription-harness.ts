/**
 * Subscription on its own, against the fake broker, with every timer and clock mocked: a recovery attempt, a
 * deadline and a log's `downMs` happen at the tick the test names, never at a time a loaded machine chooses. Shared by
 * the subscription-*.spec.ts files, which enable the mocked clock (`mock.timers`) around each test.
 */
import { EventEmitter } from 'node:events';
import { mock } from 'node:test';
import type { Channel, Message } from 'amqplib';
import type { AckBatcher } from '../../../shared/messaging/ack-batcher';
import { Subscription, type SubscriptionOptions } from '../../../shared/messaging/subscription';
import type { Topology } from '../../../shared/messaging/topology';
import { MissingTopology } from '../../../shared/messaging/topology-check';
import { FakeChannel } from './fake-channel';
import { FakeConnectionManager } from './fake-connection-manager';
import { capturedLog, testMetrics, valueOf } from './fixtures';

/** Queue `q` and another whose topology `q`'s subscription must never touch. */
export const topology: Topology = {
  exchange: 'test.events',
  queues: [
    { name: 'q', bindings: ['payment.#'] },
    { name: 'other', bindings: ['order.#'] },
  ],
  retryDelaysMs: [10],
  queueType: 'quorum',
};
/** The recovery deadline of every subscription here: short, since the clock is mocked. */
export const DEADLINE_MS = 1000;
/** The broker's refusals, as amqplib reports them: a fresh Error each time, as each refusal is. */
export const ACCESS_REFUSED = (): Error => Object.assign(new Error('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), { code: 403 });
export const DRIFT = (): Error =>
  Object.assign(
    new Error(
      `Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'q' in vhost '/': received 'quorum' but current is 'classic'"`,
    ),
    { code: 406 },
  );
export const CONSUME_REFUSED = (): Error => Object.assign(new Error('Operation failed: BasicConsume; 403 (ACCESS-REFUSED)'), { code: 403 });

/** Lets every promise and setImmediate queued so far run (timers stay mocked). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the mocked clock on by `ms`, a step at a time, letting what each step woke run (and set timers of its own). */
export async function advance(ms: number): Promise<void> {
  for (let left = ms; left > 0; left -= 50) {
    mock.timers.tick(Math.min(left, 50));
    await settle();
  }
}

/** A Subscription of queue `q` on a fake connection whose connectivity the test controls. */
export function subscribe(options: Partial<SubscriptionOptions> = {}) {
  const amqp = new FakeConnectionManager();
  const events = new EventEmitter();
  const link = { connected: true };
  Object.assign(amqp.manager, {
    isConnected: () => link.connected,
    on: (event: string, listener: (...args: unknown[]) => void) => events.on(event, listener),
  });
  const metrics = testMetrics();
  const { log, lines } = capturedLog();
  const received: { acks: AckBatcher; msg: Message }[] = [];
  const subscription = new Subscription(amqp.manager, {
    queue: 'q',
    topology,
    prefetch: 8,
    recoveryDeadlineMs: DEADLINE_MS,
    log,
    metrics,
    onMessage: (acks, msg) => received.push({ acks, msg }),
    ...options,
  });
  const up = () => valueOf(metrics.consumerUp, { queue: 'q' });
  const recoveries = () => valueOf(metrics.consumerRecoveries, { queue: 'q' });
  const channel = () => amqp.channel('consumer:q');
  const said = (text: string) => lines.filter((l) => String(l.msg).includes(text));
  return { subscription, amqp, events, link, metrics, lines, said, received, up, recoveries, channel };
}

/** A look on channels of its own over `broker`'s exchanges and queues, refused as `refuse` says at the time. */
export function lookOver(broker: FakeChannel, refuse: { now?: Error }) {
  const missing = new MissingTopology();
  const openChannel = async () => {
    const channel = new FakeChannel();
    Object.assign(channel, { exchanges: broker.exchanges, queues: broker.queues, refuse: refuse.now });
    return channel as unknown as Channel;
  };
  return { openChannel, missing };
}
