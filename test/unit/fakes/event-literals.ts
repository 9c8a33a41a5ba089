import { randomUUID } from 'node:crypto';
import type { EventOf, EventType, PayloadOf } from '../../../shared/events/catalog';

/**
 * Events as plain objects, the way they arrive decoded: no codec, so a spec needs no catalog registration to build
 * its input. Each has a fresh eventId and the order as its correlation id.
 */
export function eventLiteral<T extends EventType>(eventType: T, payload: PayloadOf<T>, version = 1): EventOf<T> {
  const meta = { eventType, version, eventId: randomUUID(), correlationId: payload.orderId, timestamp: new Date().toISOString() };
  return { ...meta, ...payload } as unknown as EventOf<T>;
}

/** An order id nobody else used (the id rule: letters, digits, `-`). */
export const newOrderId = (): string => `o-${randomUUID()}`;

type OrderFields = Partial<PayloadOf<'OrderPlaced'>> & { orderId: string };

/** An `OrderPlaced` v3 for one line of P1 at 150 USD unless `fields` say otherwise. */
export const orderPlaced = (fields: OrderFields): EventOf<'OrderPlaced'> =>
  eventLiteral(
    'OrderPlaced',
    { customerId: 'c-1', items: [{ productId: 'P1', quantity: 1 }], totalAmount: 150, currency: 'USD', ...fields },
    3,
  );

export const orderCancelled = (
  orderId: string,
  reason: PayloadOf<'OrderCancelled'>['reason'] = 'OUT_OF_STOCK',
  items = [{ productId: 'P1', quantity: 1 }],
): EventOf<'OrderCancelled'> => eventLiteral('OrderCancelled', { orderId, reason, items });

export const orderConfirmed = (orderId: string, items = [{ productId: 'P1', quantity: 1 }]): EventOf<'OrderConfirmed'> =>
  eventLiteral('OrderConfirmed', { orderId, items, totalAmount: 150, currency: 'USD' });
