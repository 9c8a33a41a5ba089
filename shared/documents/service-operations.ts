import { publishedKeys, type ServiceDeclaration } from '../lifecycle/declaration';
import { deadLetterQueueName, retryQueueName } from '../messaging/topology';
import { deadLetterId, retryCopyId, type BrokerSettings } from './broker-channels';
import { messageId, type EventVersion } from './event-messages';

const AMQP = '0.3.0';
const channelRef = (channel: string) => ({ $ref: `#/channels/${channel}` });
const messageRef = (channel: string, id: string) => ({ $ref: `#/channels/${channel}/messages/${id}` });
/** Every Warren publish is persistent, mandatory (unroutable is a failure) and awaits the broker's confirm. */
const PUBLISH = { amqp: { deliveryMode: 2, mandatory: true, timestamp: true, bindingVersion: AMQP } };
const CONSUME = { amqp: { ack: true, bindingVersion: AMQP } };

/** The versions of the event a routing key carries; a key no catalog event has is a declaration the document cannot describe. */
function versionsFor(key: string, versions: readonly EventVersion[], service: string): EventVersion[] {
  const found = versions.filter((v) => v.routingKey === key);
  if (found.length === 0) throw new Error(`${service} declares routing key ${key}, which no event in the catalog has`);
  return found;
}

/**
 * Each service's operations, from its declaration: a `send` per routing key it publishes (the current version
 * only: services publish what `createEvent` builds), a `receive` per routing key its queues bind (every version:
 * older ones are upcast), and the `send`s of its failure path (each retry tier and the DLQ of each queue).
 */
export function serviceOperations(
  services: readonly ServiceDeclaration[],
  versions: readonly EventVersion[],
  broker: BrokerSettings,
): Record<string, unknown> {
  const operations: Record<string, unknown> = {};
  for (const service of services) {
    const tags = [{ name: service.name }];
    for (const key of publishedKeys(service)) {
      const current = versionsFor(key, versions, service.name).filter((v) => v.current);
      operations[`${service.name}.send.${key}`] = {
        action: 'send',
        channel: channelRef(key),
        title: `${service.name} publishes ${key}`,
        tags,
        messages: current.map((v) => messageRef(key, messageId(v))),
        bindings: PUBLISH,
      };
    }
    for (const queue of service.consumes) {
      for (const key of queue.bindings) {
        operations[`${service.name}.receive.${key}`] = {
          action: 'receive',
          channel: channelRef(key),
          title: `${service.name} consumes ${key}`,
          description: `From queue \`${queue.name}\`, bound with \`${key}\`. A failure is retried through its tiers or dead-lettered.`,
          tags,
          messages: versionsFor(key, versions, service.name).map((v) => messageRef(key, messageId(v))),
          bindings: CONSUME,
        };
      }
      for (const delayMs of broker.retryDelaysMs) {
        const channel = retryQueueName(queue.name, delayMs);
        operations[`${service.name}.retry.${channel}`] = {
          action: 'send',
          channel: channelRef(channel),
          title: `${service.name} schedules a retry in ${delayMs} ms`,
          tags,
          messages: [messageRef(channel, retryCopyId(queue.name))],
          bindings: PUBLISH,
        };
      }
      const dlq = deadLetterQueueName(queue.name);
      operations[`${service.name}.deadLetter.${dlq}`] = {
        action: 'send',
        channel: channelRef(dlq),
        title: `${service.name} dead-letters a message of ${queue.name}`,
        tags,
        messages: [messageRef(dlq, deadLetterId(queue.name))],
        bindings: PUBLISH,
      };
    }
  }
  return operations;
}
