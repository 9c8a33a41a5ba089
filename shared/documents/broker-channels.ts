import type { ServiceDeclaration } from '../lifecycle/declaration';
import {
  DEAD_LETTER_ROUTING_KEY,
  deadLetterQueueName,
  failuresExchangeName,
  RETURN_ROUTING_KEY,
  retryQueueName,
  retryRoutingKey,
} from '../messaging/topology';
import { messageId, type EventVersion } from './event-messages';

/** The broker names and settings the channels are drawn with (the configuration's defaults). */
export interface BrokerSettings {
  exchange: string;
  retryDelaysMs: readonly number[];
  /** The vhost the bindings name; the one in AMQP_URL. */
  vhost: string;
}

const AMQP = '0.3.0';
const ref = (id: string) => ({ $ref: `#/components/messages/${id}` });

/** A channel per routing key on the topic exchange, holding every version of its event. */
export function routingKeyChannels(versions: readonly EventVersion[], broker: BrokerSettings): Record<string, unknown> {
  const keys = [...new Set(versions.map((v) => v.routingKey))];
  return Object.fromEntries(
    keys.map((key) => {
      const carried = versions.filter((v) => v.routingKey === key);
      return [
        key,
        {
          address: key,
          title: key,
          description: `Routing key \`${key}\` on the topic exchange \`${broker.exchange}\` (EVENTS_EXCHANGE): ${carried[0]!.eventType}.`,
          messages: Object.fromEntries(carried.map((v) => [messageId(v), ref(messageId(v))])),
          bindings: {
            amqp: {
              is: 'routingKey',
              exchange: { name: broker.exchange, type: 'topic', durable: true, autoDelete: false, vhost: broker.vhost },
              bindingVersion: AMQP,
            },
          },
        },
      ];
    }),
  );
}

/** Component ids of a queue's failure messages. */
export const retryCopyId = (queue: string): string => `${queue}.retry-copy`;
export const deadLetterId = (queue: string): string => `${queue}.dead-letter`;

const queueBinding = (name: string, vhost: string) => ({
  amqp: { is: 'queue', queue: { name, durable: true, exclusive: false, autoDelete: false, vhost }, bindingVersion: AMQP },
});

/**
 * Each consumed queue's delay tiers and DLQ. A service publishes its failure copies there through the queue's own
 * direct exchange `<queue>.failures`; a tier's TTL hands a copy back to the queue (routing key `return`).
 */
export function failureChannels(services: readonly ServiceDeclaration[], broker: BrokerSettings): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  for (const queue of services.flatMap((s) => s.consumes.map((q) => q.name))) {
    const failures = failuresExchangeName(queue);
    broker.retryDelaysMs.forEach((delayMs, i) => {
      const name = retryQueueName(queue, delayMs);
      channels[name] = {
        address: name,
        title: `${queue}: retry tier ${i + 1} of ${broker.retryDelaysMs.length} (${delayMs} ms)`,
        description:
          `A copy of a delivery that failed transiently on \`${queue}\`, published to exchange \`${failures}\` with routing key ` +
          `\`${retryRoutingKey(delayMs)}\`. It waits ${delayMs} ms (the queue's TTL; RETRY_DELAYS_MS sets the tiers), then the broker ` +
          `dead-letters it back to \`${queue}\` through \`${failures}\` with routing key \`${RETURN_ROUTING_KEY}\`.`,
        messages: { [retryCopyId(queue)]: ref(retryCopyId(queue)) },
        bindings: queueBinding(name, broker.vhost),
      };
    });
    const dlq = deadLetterQueueName(queue);
    channels[dlq] = {
      address: dlq,
      title: `${queue}: dead-letter queue`,
      description:
        `Messages \`${queue}\` could not process: a permanent failure at once, a transient one after the last tier. Published to ` +
        `exchange \`${failures}\` with routing key \`${DEAD_LETTER_ROUTING_KEY}\` (the queue's broker dead-letter target too). ` +
        'Read, replayed and purged with `npm run dlq`.',
      messages: { [deadLetterId(queue)]: ref(deadLetterId(queue)) },
      bindings: queueBinding(dlq, broker.vhost),
    };
  }
  return channels;
}
