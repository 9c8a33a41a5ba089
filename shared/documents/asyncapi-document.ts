import type { CatalogEntry } from '../events/catalog';
import type { ServiceDeclaration } from '../lifecycle/declaration';
import { failureChannels, routingKeyChannels, type BrokerSettings } from './broker-channels';
import { eventMessages, eventSchemas, eventVersions, ORDER_CORRELATION } from './event-messages';
import { failureMessages } from './failure-messages';
import { headerSchemas } from './message-headers';
import { serviceOperations } from './service-operations';

export interface AsyncApiInput {
  services: readonly ServiceDeclaration[];
  catalog: Readonly<Record<string, CatalogEntry>>;
  broker: BrokerSettings;
  /** The broker's `host:port`, without credentials. */
  brokerHost: string;
  /** The fleet's release (package.json). */
  version: string;
}

/**
 * The fleet's AsyncAPI 3.0 document: the catalog's events (every version, with the schemas the validators use) as
 * messages on one channel per routing key, each consumed queue's retry tiers and DLQ, and each service's
 * operations as its declaration states them. Pure and deterministic, so a committed copy can be checked.
 */
export function asyncApiDocument(input: AsyncApiInput): Record<string, unknown> {
  const { services, broker } = input;
  const versions = eventVersions(input.catalog);
  const events = routingKeyChannels(versions, broker);
  const failures = failureChannels(services, broker);
  const clash = Object.keys(failures).find((id) => id in events);
  if (clash) throw new Error(`channel ${clash} is both a routing key and a queue`);
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Warren events',
      version: input.version,
      description:
        'Events of the Warren order fleet on one durable topic exchange, and the failure path of each consumed queue. ' +
        'Generated from shared/events/catalog.ts and workers/registry.ts by `npm run contracts`: do not edit.',
      tags: services.map((s) => ({ name: s.name, description: s.summary })),
    },
    servers: {
      broker: {
        host: input.brokerHost,
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        description: 'AMQP_URL (its default here); the vhost in the URL holds every exchange and queue.',
      },
    },
    defaultContentType: 'application/json',
    channels: { ...events, ...failures },
    operations: serviceOperations(services, versions, broker),
    components: {
      schemas: { ...eventSchemas(versions), ...headerSchemas() },
      messages: { ...eventMessages(versions), ...failureMessages(services, versions) },
      correlationIds: ORDER_CORRELATION,
    },
  };
}
