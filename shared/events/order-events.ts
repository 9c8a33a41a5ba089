import { Type, type Static } from '@sinclair/typebox';
import { Currency, eventSchema, LineItems, Money, OrderId, Timestamp } from './common';

/** `OrderPlaced` v1: exactly the seed document's shape (no eventId, no version, no token). */
export const OrderPlacedV1 = Type.Object({
  eventType: Type.Literal('OrderPlaced'),
  orderId: OrderId,
  items: LineItems,
  totalAmount: Money,
  timestamp: Timestamp,
});
export type OrderPlacedV1 = Static<typeof OrderPlacedV1>;

/** `OrderPlaced` v2 adds who pays, in what currency, and with which payment token. */
export const OrderPlaced = eventSchema('OrderPlaced', 2, {
  customerId: Type.String({ minLength: 1, maxLength: 128 }),
  items: LineItems,
  totalAmount: Money,
  currency: Currency,
  /** Absent only on orders upcast from v1: the simulated gateway then approves, as the seed's payment service does. */
  paymentToken: Type.Optional(Type.String({ pattern: '^tok_[A-Za-z0-9_]{1,64}$' })),
});
export type OrderPlaced = Static<typeof OrderPlaced>;

/** The v1 → v2 upcaster. Its eventId is derived from the order, so every redelivery of one v1 event gets the same id. */
export function upcastOrderPlacedV1(v1: OrderPlacedV1): OrderPlaced {
  return {
    eventType: 'OrderPlaced',
    version: 2,
    eventId: `v1:OrderPlaced:${v1.orderId}`,
    orderId: v1.orderId,
    correlationId: v1.orderId,
    timestamp: v1.timestamp,
    customerId: 'unknown',
    items: v1.items,
    totalAmount: v1.totalAmount,
    currency: 'USD',
  };
}

export const OrderConfirmed = eventSchema('OrderConfirmed', 1, {
  items: LineItems,
  totalAmount: Money,
  currency: Currency,
});
export type OrderConfirmed = Static<typeof OrderConfirmed>;

export const CancelReason = Type.Union([Type.Literal('OUT_OF_STOCK'), Type.Literal('PAYMENT_DECLINED'), Type.Literal('TIMEOUT')]);
export type CancelReason = Static<typeof CancelReason>;

export const OrderCancelled = eventSchema('OrderCancelled', 1, {
  reason: CancelReason,
  items: LineItems,
});
export type OrderCancelled = Static<typeof OrderCancelled>;
