import type { Channel, Options } from 'amqplib';
import type { QueueType } from '../config/config';

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

export interface QueueDeclaration {
  name: string;
  options: Options.AssertQueue;
  /** Routing keys bound on the events exchange. */
  bindings: readonly string[];
  /** The queue's binding on its failures exchange: `return` (main queue), `retry.<ms>` (tier) or `dlq`. */
  failureBinding: { exchange: string; routingKey: string };
}

/** Expands a topology into every queue to declare, with its arguments. Pure, so it is unit-tested. */
export function planTopology(topology: Topology): QueueDeclaration[] {
  const declarations: QueueDeclaration[] = [];
  const quorum = topology.queueType === 'quorum';
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
          arguments: { ...typeArgs, ...safeDeadLetter, 'x-message-ttl': delayMs, 'x-dead-letter-exchange': failures, 'x-dead-letter-routing-key': RETURN_ROUTING_KEY },
        },
      });
    }
    declarations.push({
      name: dlq,
      bindings: [],
      failureBinding: { exchange: failures, routingKey: DEAD_LETTER_ROUTING_KEY },
      options: { durable: true, arguments: { ...typeArgs } },
    });
  }
  return declarations;
}

/** Declares the exchanges, every queue and binding. Idempotent: runs on each (re)connect. */
export async function assertTopology(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  for (const queue of topology.queues) await channel.assertExchange(failuresExchangeName(queue.name), 'direct', { durable: true });
  for (const declaration of planTopology(topology)) {
    await channel.assertQueue(declaration.name, declaration.options);
    for (const key of declaration.bindings) await channel.bindQueue(declaration.name, topology.exchange, key);
    await channel.bindQueue(declaration.name, declaration.failureBinding.exchange, declaration.failureBinding.routingKey);
  }
}
