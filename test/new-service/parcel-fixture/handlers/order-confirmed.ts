import { derivedEventId } from '../../../shared/events/codec';
import type { EventHandler } from '../../../shared/messaging/context';
import type { OrderConfirmed } from '../../order/events';

/** Books one parcel per confirmed order; a redelivery re-publishes the same booking (same eventId). */
export function onOrderConfirmed(carrier: string): EventHandler<OrderConfirmed> {
  return async (ctx) => {
    const { orderId, items } = ctx.event;
    await ctx.publish('ParcelBooked', { orderId, items, carrier }, { eventId: derivedEventId(orderId, 'ParcelBooked') });
  };
}
