import type { TSchema } from '@sinclair/typebox';
import type { CatalogEntry } from '../events/catalog';
import { headersRef } from './message-headers';

/** One version of one event, as the catalog holds it. */
export interface EventVersion {
  eventType: string;
  version: number;
  routingKey: string;
  /** The version services publish; older ones are only accepted on the way in (and upcast). */
  current: boolean;
  schema: TSchema;
}

/** The component key of an event version's schema and message: `OrderPlaced.v2`. */
export const messageId = (e: Pick<EventVersion, 'eventType' | 'version'>): string => `${e.eventType}.v${e.version}`;

/** Every version of every event in the catalog: catalog order, newest version first. */
export function eventVersions(catalog: Readonly<Record<string, CatalogEntry>>): EventVersion[] {
  return Object.entries(catalog).flatMap(([eventType, entry]) => {
    const legacy = Object.entries(entry.legacy ?? {})
      .map(([version, old]) => ({ eventType, version: Number(version), routingKey: entry.routingKey, current: false, schema: old.schema }))
      .sort((a, b) => b.version - a.version);
    return [{ eventType, version: entry.version, routingKey: entry.routingKey, current: true, schema: entry.schema }, ...legacy];
  });
}

/** A TypeBox schema as plain JSON Schema: its symbol-keyed bookkeeping is not JSON and is left out. */
const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema));

/** `components.schemas`: each event version's body, the very schema the validators compile. */
export function eventSchemas(versions: readonly EventVersion[]): Record<string, unknown> {
  return Object.fromEntries(versions.map((v) => [messageId(v), plain(v.schema)]));
}

/** `components.messages`: each event version with its AMQP properties and headers. */
export function eventMessages(versions: readonly EventVersion[]): Record<string, unknown> {
  return Object.fromEntries(
    versions.map((v) => [
      messageId(v),
      {
        name: v.eventType,
        title: `${v.eventType} v${v.version}`,
        summary: v.current
          ? `Published with routing key \`${v.routingKey}\`.`
          : `An older version, accepted on the way in and upcast to the current one; never published.`,
        description:
          'AMQP properties mirror the body: `messageId` = `eventId`, `type` = `eventType`, `correlationId` = the order id, ' +
          '`timestamp` (seconds), `contentType: application/json`, `appId` = the publishing service; persistent.',
        contentType: 'application/json',
        headers: headersRef('EventHeaders'),
        payload: { $ref: `#/components/schemas/${messageId(v)}` },
        correlationId: { $ref: '#/components/correlationIds/order' },
        bindings: { amqp: { messageType: v.eventType, bindingVersion: '0.3.0' } },
      },
    ]),
  );
}

/** Every version of every event names its order: `orderId` (current versions repeat it as `correlationId`). */
export const ORDER_CORRELATION = {
  order: { description: "The order's id: every event of one order's journey carries it.", location: '$message.payload#/orderId' },
};
