import type { Channel, Options } from 'amqplib';
import type { QueueType } from '../config/config';
import { ProbeSession, type DriftTracker } from './topology-drift';

/** A consumer queue and the routing keys it binds on the events exchange. */
export interface QueueSpec {
  name: string;
  bindings: readonly string[];
}

/**
 * A service's whole topology as data: asserted at start-up and again on every reconnect, never from handlers.
 * Each consumer queue gets one retry queue per delay tier and a dead-letter queue.
 */
export interface Topology {
  exchange: string;
  queues: readonly QueueSpec[];
  retryDelaysMs: readonly number[];
  queueType: QueueType;
  /**
   * How to declare without being stopped by drift: a channel of its own for each refused declaration, and where
   * the refusals are recorded. Without it a refused declaration fails the set-up (the unit tests' fakes).
   */
  probe?: TopologyProbe;
}

export interface TopologyProbe {
  /** A fresh channel on the connection of `beside` (the channel being set up), or another to the same vhost. */
  openChannel(beside: Channel): Promise<Channel>;
  drift: DriftTracker;
}

/** Names of the queues that serve one consumer queue. */
export const retryQueueName = (queue: string, delayMs: number): string => `${queue}.retry.${delayMs}`;
export const deadLetterQueueName = (queue: string): string => `${queue}.dlq`;

/**
 * The direct exchange a consumer publishes its retry and dead-letter copies to. It is the service's own, so the
 * broker can grant it write there and nowhere else: publishing copies through the default exchange would need
 * write on `amq.default`, which lets a service push into any queue by name.
 */
export const failuresExchangeName = (queue: string): string => `${queue}.failures`;
export const retryRoutingKey = (delayMs: number): string => `retry.${delayMs}`;
export const DEAD_LETTER_ROUTING_KEY = 'dlq';
/** How a retry tier hands an expired message back: to the failing queue, the only queue bound with this key. */
export const RETURN_ROUTING_KEY = 'return';

/**
 * Deliveries a quorum queue allows before the broker dead-letters a message itself: above the retry budget,
 * so it only fires for a message that kills its worker on every delivery (it never reaches our retry path).
 */
export const deliveryLimit = (retryDelaysMs: readonly number[]): number => retryDelaysMs.length + 5;

/** What the plan needs to know of the broker it is declared on: the connection's `server_properties.version`. */
export interface BrokerInfo {
  version?: string;
}

/**
 * The arguments that let a quorum queue redeliver a message any number of times: for the DLQ (a message read and
 * handed back by the DLQ tool, or returned by a crashed reader, must never be dropped: it has no dead-letter
 * target) and the retry tiers (no consumer; a peek must not send a message back before its delay). Version-aware,
 * because no one value is right on both (measured, docs/rabbitmq-versions.md):
 * - 3.x has no limit unless one is set, and accepts `x-delivery-limit: -1` but reads it as "no redelivery at
 *   all": 3.10.8 dropped the message on its first requeue. So nothing is set, as before.
 * - 4.x gives a queue without one a limit of 20 ("delivery_limit not set, defaulting to 20"), and reads -1 as
 *   unlimited (4.0.5 kept a message through 25 nack-requeues and 25 channel closes).
 * A version that cannot be read gets the 3.x plan: at worst 4.x's default of 20, never a drop on first requeue.
 */
export function unlimitedDeliveries(broker: BrokerInfo): Record<string, number> {
  const major = Number(/^(\d+)\./.exec(broker.version ?? '')?.[1] ?? 0);
  return major >= 4 ? { 'x-delivery-limit': -1 } : {};
}

export interface QueueDeclaration {
  name: string;
  options: Options.AssertQueue;
  /** Routing keys bound on the events exchange. */
  bindings: readonly string[];
  /** The queue's binding on its failures exchange: `return` (main queue), `retry.<ms>` (tier) or `dlq`. */
  failureBinding: { exchange: string; routingKey: string };
}

/**
 * Expands a topology into every queue to declare, with its arguments. Pure, so it is unit-tested. Every quorum
 * queue gets its delivery limit explicitly: the main queue {@link deliveryLimit}, the retry tiers and the DLQ
 * {@link unlimitedDeliveries}. Without `broker`, the plan for a broker whose version is not known (3.x's).
 */
export function planTopology(topology: Topology, broker: BrokerInfo = {}): QueueDeclaration[] {
  const declarations: QueueDeclaration[] = [];
  const quorum = topology.queueType === 'quorum';
  const unlimited = quorum ? unlimitedDeliveries(broker) : {};
  const typeArgs = quorum ? { 'x-queue-type': 'quorum' } : { 'x-queue-type': 'classic' };
  // At-least-once dead-lettering (quorum only) needs reject-publish overflow; at-most-once would drop on a full target.
  const safeDeadLetter = quorum ? { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } : {};
  for (const queue of topology.queues) {
    const dlq = deadLetterQueueName(queue.name);
    // Dead-lettering goes through the queue's own failures exchange too: a dead-letter exchange needs write
    // permission, and the default exchange would have to be granted for it.
    const failures = failuresExchangeName(queue.name);
    declarations.push({
      name: queue.name,
      bindings: queue.bindings,
      failureBinding: { exchange: failures, routingKey: RETURN_ROUTING_KEY },
      options: {
        durable: true,
        arguments: {
          ...typeArgs,
          ...safeDeadLetter,
          'x-dead-letter-exchange': failures,
          'x-dead-letter-routing-key': DEAD_LETTER_ROUTING_KEY,
          ...(quorum ? { 'x-delivery-limit': deliveryLimit(topology.retryDelaysMs) } : {}),
        },
      },
    });
    for (const delayMs of topology.retryDelaysMs) {
      declarations.push({
        name: retryQueueName(queue.name, delayMs),
        bindings: [],
        failureBinding: { exchange: failures, routingKey: retryRoutingKey(delayMs) },
        options: {
          durable: true,
          // A queue-level TTL: every message in a tier waits the same time, so none blocks the head.
          arguments: {
            ...typeArgs,
            ...safeDeadLetter,
            ...unlimited,
            'x-message-ttl': delayMs,
            'x-dead-letter-exchange': failures,
            'x-dead-letter-routing-key': RETURN_ROUTING_KEY,
          },
        },
      });
    }
    declarations.push({
      name: dlq,
      bindings: [],
      failureBinding: { exchange: failures, routingKey: DEAD_LETTER_ROUTING_KEY },
      options: { durable: true, arguments: { ...typeArgs, ...unlimited } },
    });
  }
  return declarations;
}

/**
 * Declares the exchanges, every queue and binding. Idempotent: runs on each (re)connect. With a probe, a queue whose
 * existing arguments differ from the plan (an operator changed RETRY_DELAYS_MS or QUEUE_TYPE) is recorded as drift
 * and used as it is, instead of failing the set-up with a 406 and looping for ever: its bindings are still made,
 * and the service consumes it. `npm run topology -- migrate <queue>` recreates it with the new arguments.
 */
export async function assertTopology(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  for (const queue of topology.queues) await channel.assertExchange(failuresExchangeName(queue.name), 'direct', { durable: true });
  const { probe } = topology;
  const session = probe ? new ProbeSession(() => probe.openChannel(channel)) : undefined;
  try {
    for (const declaration of planTopology(topology, { version: channel.connection?.serverProperties?.version })) {
      if (session && probe) {
        const result = await session.declare(declaration);
        probe.drift.record(declaration.name, result.kind === 'drift' ? result.drift : undefined);
      } else await channel.assertQueue(declaration.name, declaration.options);
      for (const key of declaration.bindings) await channel.bindQueue(declaration.name, topology.exchange, key);
      await channel.bindQueue(declaration.name, declaration.failureBinding.exchange, declaration.failureBinding.routingKey);
    }
  } finally {
    await session?.close();
  }
}
