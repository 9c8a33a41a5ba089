/**
 * What the permission suite (../rabbitmq-permissions.test.ts) asks of each service user: the topology and keys its
 * declaration gives it, and assertions that a broker operation is refused (403) or a message arrives.
 */
import assert from 'node:assert/strict';
import amqplib from 'amqplib';
import type { Topology } from '../../../shared/messaging/topology';
import { publishedKeys } from '../../../shared/lifecycle/declaration';
import { loadFleetConfig, SERVICE_DECLARATIONS, type ServiceName } from '../../../workers/registry';
import { waitFor } from '../../helpers/wait';
import { refusal } from '../broker-access';

export const EXCHANGE = 'warren.events';
const declarationOf = (service: ServiceName) => SERVICE_DECLARATIONS.find((s) => s.name === service)!;
/** The routing keys a service declares it publishes. */
export const publishesOf = (service: ServiceName): readonly string[] => publishedKeys(declarationOf(service));
export const queueOf = (service: ServiceName): string => declarationOf(service).consumes[0]!.name;

/** The topology each service looks at on start-up (the operator declares it): its declared queues, default config. */
export function topologyOf(service: ServiceName): Topology {
  const config = loadFleetConfig({});
  return { exchange: EXCHANGE, queues: declarationOf(service).consumes, retryDelaysMs: config.retryDelaysMs, queueType: config.queueType };
}

export async function getOne(connection: amqplib.ChannelModel, queue: string, routingKey: string): Promise<void> {
  const channel = await connection.createChannel();
  try {
    await waitFor(
      `${routingKey} in ${queue}`,
      async () => {
        const message = await channel.get(queue, { noAck: false });
        if (!message) return false;
        channel.ack(message);
        return message.fields.routingKey === routingKey || undefined;
      },
      10_000,
      50,
    );
  } finally {
    await channel.close();
  }
}

/** An assertion that `service` may not do `what` (403 ACCESS_REFUSED), recording each refusal in `refusals`. */
export function refusedAs(connections: Record<ServiceName, amqplib.ChannelModel>, refusals: string[]) {
  return async (service: ServiceName, what: string, operation: (ch: amqplib.ConfirmChannel) => Promise<unknown>) => {
    const error = await refusal(connections[service], operation).catch((e: Error) =>
      assert.fail(`${service} may not ${what}, but ${e.message}`),
    );
    assert.equal(error.code, 403, `${service} ${what}: ${error.message}`);
    assert.match(error.message, /ACCESS_REFUSED/);
    refusals.push(`${service}: ${what}`);
  };
}
