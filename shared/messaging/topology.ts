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
 * Deliveries a quorum queue allows before the broker dead-letters a message itself: above the retry budget,
 * so it only fires for a message that kills its worker on every delivery (it never reaches our retry path).
 */
export const deliveryLimit = (retryDelaysMs: readonly number[]): number => retryDelaysMs.length + 5;

export interface QueueDeclaration {
  name: string;
  options: Options.AssertQueue;
  bindings: readonly string[];
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
    declarations.push({
      name: queue.name,
      bindings: queue.bindings,
      options: {
        durable: true,
        arguments: {
          ...typeArgs,
          ...safeDeadLetter,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': dlq,
          ...(quorum ? { 'x-delivery-limit': deliveryLimit(topology.retryDelaysMs) } : {}),
        },
      },
    });
    for (const delayMs of topology.retryDelaysMs) {
      declarations.push({
        name: retryQueueName(queue.name, delayMs),
        bindings: [],
        options: {
          durable: true,
          // A queue-level TTL: every message in a tier waits the same time, so none blocks the head.
          arguments: { ...typeArgs, ...safeDeadLetter, 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queue.name },
        },
      });
    }
    declarations.push({ name: dlq, bindings: [], options: { durable: true, arguments: { ...typeArgs } } });
  }
  return declarations;
}

/** Declares the exchange, every queue and binding. Idempotent: runs on each (re)connect. */
export async function assertTopology(channel: Channel, topology: Topology): Promise<void> {
  await channel.assertExchange(topology.exchange, 'topic', { durable: true });
  for (const declaration of planTopology(topology)) {
    await channel.assertQueue(declaration.name, declaration.options);
    for (const key of declaration.bindings) await channel.bindQueue(declaration.name, topology.exchange, key);
  }
}
