import { Type, type Static } from '@sinclair/typebox';
import { eventSchema, LineItems, ProductId } from './common';

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
