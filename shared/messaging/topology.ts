import type { Options } from 'amqplib';
import type { QueueType } from '../config/config';

/** A consumer queue and the routing keys it binds on the events exchange. */
export interface QueueSpec {
  name: string;
  bindings: readonly string[];
}

/**
 * A service's whole topology as data: declared by the operator (shared/topology, `npm run topology -- apply`),
 * looked at by the service at start-up and on every reconnect (topology-check.ts), never from handlers.
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
 * Most messages a DLQ keeps. Beyond it the broker refuses the dead letter (`reject-publish`): the failing message
 * stays in its queue, redelivered, instead of the oldest dead letter being dropped; an alert fires well before
 * (WarrenDeadLetterQueueFilling).
 */
export const DLQ_MAX_LENGTH = 100_000;

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
      options: {
        durable: true,
        arguments: { ...typeArgs, ...unlimited, 'x-max-length': DLQ_MAX_LENGTH, 'x-overflow': 'reject-publish' },
      },
    });
  }
  return declarations;
}

/**
 * Whether a topic binding pattern matches a routing key, as RabbitMQ's topic exchange decides it: words split at
 * dots, `*` one word, `#` zero or more words.
 */
export function bindingMatches(pattern: string, routingKey: string): boolean {
  const match = (p: readonly string[], k: readonly string[]): boolean => {
    if (p.length === 0) return k.length === 0;
    const [head, ...rest] = p;
    if (head === '#') return match(rest, k) || (k.length > 0 && match(p, k.slice(1)));
    return k.length > 0 && (head === '*' || head === k[0]) && match(rest, k.slice(1));
  };
  return match(pattern.split('.'), routingKey.split('.'));
}
