import { derivedEventId } from '../../../shared/events/codec';
import type { OrderCancelled, OrderConfirmed, OrderPlaced } from '../../order/events';
import { assertOutcomesPublishable } from '../../../shared/events/outcome-check';
import type { EventHandler } from '../../../shared/messaging/context';
import { mergeLines } from '../domain/stock';
import type { InventoryStore } from '../store/inventory-store';

/**
 * Reserves every line of an order at once, or none. A redelivered `OrderPlaced` finds the reservation record and
 * re-publishes the same outcome (same eventId), so a publish lost to a crash is made good without a second effect.
 */
export function onOrderPlaced(store: InventoryStore): EventHandler<OrderPlaced> {
  return async (ctx) => {
    const { orderId, items } = ctx.event;
    // Checked before stock moves (a rejection names one of the lines, each under the same product id rule).
    assertOutcomesPublishable(ctx.event, {
      InventoryReserved: { orderId, items },
      InventoryRejected: { orderId, reason: 'OUT_OF_STOCK', productId: items[0]!.productId },
      InventoryReleased: { orderId, items },
    });
    // A reservation record made for other lines refuses it (ConflictingEventError): the first OrderPlaced stands.
    const result = await store.reserve(orderId, mergeLines(items));
    if (result.status === 'RESERVED') {
      await ctx.publish('InventoryReserved', { orderId, items }, { eventId: derivedEventId(orderId, 'InventoryReserved') });
    } else if (result.status === 'REJECTED') {
      await ctx.publish(
        'InventoryRejected',
        { orderId, reason: 'OUT_OF_STOCK', productId: result.productId ?? items[0]!.productId },
        { eventId: derivedEventId(orderId, 'InventoryRejected') },
      );
    } else {
      ctx.log.info({ status: result.status }, 'order already settled or cancelled; nothing to reserve');
    }
    return result.changed ? 'done' : 'duplicate';
  };
}

/** Compensation: gives a cancelled order's stock back exactly once, or leaves a tombstone if it was never reserved. */
export function onOrderCancelled(store: InventoryStore): EventHandler<OrderCancelled> {
  return async (ctx) => {
    const { orderId } = ctx.event;
    const result = await store.settle(orderId, 'release');
    if (result?.status === 'RELEASED' && result.items) {
      await ctx.publish('InventoryReleased', { orderId, items: result.items }, { eventId: derivedEventId(orderId, 'InventoryReleased') });
    }
    // A rejected order had nothing reserved: that is not a duplicate, just nothing to give back.
    return result && !result.changed && (result.status === 'RELEASED' || result.status === 'CANCELLED') ? 'duplicate' : 'done';
  };
}

/** A confirmed order consumes its reservation: `reserved` goes down, `available` stays where the reservation left it. */
export function onOrderConfirmed(store: InventoryStore): EventHandler<OrderConfirmed> {
  return async (ctx) => {
    const result = await store.settle(ctx.event.orderId, 'commit');
    return result?.status === 'COMMITTED' && !result.changed ? 'duplicate' : 'done';
  };
}
