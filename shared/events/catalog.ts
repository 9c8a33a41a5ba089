import type { Static, TSchema } from '@sinclair/typebox';
import { InventoryRejected, InventoryReleased, InventoryReserved } from './inventory-events';
import {
  OrderCancelled,
  OrderConfirmed,
  OrderPlaced,
  OrderPlacedV1,
  OrderPlacedV2,
  upcastOrderPlacedV1,
  upcastOrderPlacedV2,
} from './order-events';
import { PaymentCaptured, PaymentDeclined, PaymentRefunded } from './payment-events';

interface LegacyVersion {
  schema: TSchema;
  /** Turns this version into the next one up (or straight into the current one). */
  upcast: (event: never) => unknown;
}

export interface CatalogEntry {
  routingKey: string;
  version: number;
  schema: TSchema;
  /** Older versions still accepted on the way in, keyed by version number. */
  legacy?: Record<number, LegacyVersion>;
}

/** Every event Warren knows: its routing key, current version and schema, and the older versions it upcasts. */
export const EVENT_CATALOG = {
  OrderPlaced: {
    routingKey: 'order.placed',
    version: 3,
    schema: OrderPlaced,
    legacy: {
      1: { schema: OrderPlacedV1, upcast: upcastOrderPlacedV1 },
      2: { schema: OrderPlacedV2, upcast: upcastOrderPlacedV2 },
    },
  },
  OrderConfirmed: { routingKey: 'order.confirmed', version: 1, schema: OrderConfirmed },
  OrderCancelled: { routingKey: 'order.cancelled', version: 1, schema: OrderCancelled },
  InventoryReserved: { routingKey: 'inventory.reserved', version: 1, schema: InventoryReserved },
  InventoryRejected: { routingKey: 'inventory.rejected', version: 1, schema: InventoryRejected },
  InventoryReleased: { routingKey: 'inventory.released', version: 1, schema: InventoryReleased },
  PaymentCaptured: { routingKey: 'payment.captured', version: 1, schema: PaymentCaptured },
  PaymentDeclined: { routingKey: 'payment.declined', version: 1, schema: PaymentDeclined },
  PaymentRefunded: { routingKey: 'payment.refunded', version: 1, schema: PaymentRefunded },
} as const satisfies Record<string, CatalogEntry>;

export type EventType = keyof typeof EVENT_CATALOG;
export type EventOf<T extends EventType> = Static<(typeof EVENT_CATALOG)[T]['schema']>;
export type AnyEvent = { [T in EventType]: EventOf<T> }[EventType];
/** The fields a publisher supplies; the metadata is filled in by {@link createEvent}. */
export type PayloadOf<T extends EventType> = Omit<
  EventOf<T>,
  'eventType' | 'version' | 'eventId' | 'correlationId' | 'causationId' | 'timestamp'
>;

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(EVENT_CATALOG, value);
}

export function routingKeyOf(eventType: EventType): string {
  return EVENT_CATALOG[eventType].routingKey;
}
