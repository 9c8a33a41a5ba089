import { Type, type Static } from '@sinclair/typebox';
import { defineEvents } from '../../shared/events/catalog';
import { eventSchema, LineItems, ProductId } from '../../shared/events/common';

export const InventoryReserved = eventSchema('InventoryReserved', 1, { items: LineItems });
export type InventoryReserved = Static<typeof InventoryReserved>;

export const InventoryRejected = eventSchema('InventoryRejected', 1, {
  reason: Type.Literal('OUT_OF_STOCK'),
  /** The first line that could not be reserved. */
  productId: ProductId,
});
export type InventoryRejected = Static<typeof InventoryRejected>;

export const InventoryReleased = eventSchema('InventoryReleased', 1, { items: LineItems });
export type InventoryReleased = Static<typeof InventoryReleased>;

/** The inventory service's events: its declaration lists them, so the registry registers them. */
export const INVENTORY_EVENTS = defineEvents({
  InventoryReserved: { routingKey: 'inventory.reserved', version: 1, schema: InventoryReserved },
  InventoryRejected: { routingKey: 'inventory.rejected', version: 1, schema: InventoryRejected },
  InventoryReleased: { routingKey: 'inventory.released', version: 1, schema: InventoryReleased },
});

type InventoryEvents = typeof INVENTORY_EVENTS;
declare module '../../shared/events/catalog' {
  interface EventCatalog extends InventoryEvents {}
}
