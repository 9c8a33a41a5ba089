import { Type, type Static } from '@sinclair/typebox';
import { defineEvents } from '../../shared/events/catalog';
import { Currency, CustomerId, eventSchema, LineItems, Money, OrderId, Timestamp } from '../../shared/events/common';
import { PermanentError } from '../../shared/errors/errors';
import { SEALED_TOKEN_PATTERN } from '../../shared/security/sealed-token';

// The events the order service owns: their schemas, versions and upcasters. Consumers of them (inventory,
// payment) import their types from here; the catalog (shared/events/catalog.ts) learns them from ORDER_EVENTS.

/** `OrderPlaced` v1: exactly the seed document's shape (no eventId, no version, no token). */
export const OrderPlacedV1 = Type.Object({
  eventType: Type.Literal('OrderPlaced'),
  orderId: OrderId,
  items: LineItems,
  totalAmount: Money,
  timestamp: Timestamp,
});
export type OrderPlacedV1 = Static<typeof OrderPlacedV1>;

/** `OrderPlaced` v2 added who pays, in what currency, and with which payment token (in clear: refused since v3). */
export const OrderPlacedV2 = eventSchema('OrderPlaced', 2, {
  customerId: Type.String({ minLength: 1, maxLength: 128 }),
  items: LineItems,
  totalAmount: Money,
  currency: Currency,
  paymentToken: Type.Optional(Type.String({ pattern: '^tok_[A-Za-z0-9_]{1,64}$' })),
});
export type OrderPlacedV2 = Static<typeof OrderPlacedV2>;

/**
 * `OrderPlaced` v3: the payment token travels sealed (AES-256-GCM under a key only order and payment hold, bound to
 * the order; shared/security/sealed-token.ts), so neither the bus nor a dead letter holds a usable token.
 */
export const OrderPlaced = eventSchema('OrderPlaced', 3, {
  customerId: CustomerId,
  items: LineItems,
  totalAmount: Money,
  currency: Currency,
  /** Absent only on orders upcast from v1: the simulated gateway then approves, as the seed's payment service does. */
  sealedPaymentToken: Type.Optional(Type.String({ pattern: SEALED_TOKEN_PATTERN })),
  /** Never on a v3 event: a clear token that slipped in (a spread request body) fails validation on the way out. */
  paymentToken: Type.Optional(Type.Never()),
});
export type OrderPlaced = Static<typeof OrderPlaced>;

/** A v2 `OrderPlaced` that carries its token in clear: refused, so a clear token is never acted on. */
export class ClearPaymentTokenError extends PermanentError {
  override readonly name = 'ClearPaymentTokenError';
  override readonly code = 'CLEAR_PAYMENT_TOKEN';
}

/**
 * The customer of an order adopted from a v1 `OrderPlaced` (the seed's shape names none). No caller owns it: the
 * order API shows such an order to nobody who authenticates, a token whose subject spells `unknown` included.
 */
export const UNKNOWN_CUSTOMER = 'unknown';

/** The v1 → v3 upcaster. Its eventId is derived from the order, so every redelivery of one v1 event gets the same id. */
export function upcastOrderPlacedV1(v1: OrderPlacedV1): OrderPlaced {
  return {
    eventType: 'OrderPlaced',
    version: 3,
    eventId: `v1:OrderPlaced:${v1.orderId}`,
    orderId: v1.orderId,
    correlationId: v1.orderId,
    timestamp: v1.timestamp,
    customerId: UNKNOWN_CUSTOMER,
    items: v1.items,
    totalAmount: v1.totalAmount,
    currency: 'USD',
  };
}

/** The v2 → v3 upcaster: a v2 event without a token is a v3 one; with a clear token it is refused (docs/security.md). */
export function upcastOrderPlacedV2(v2: OrderPlacedV2): OrderPlaced {
  const { paymentToken, version: _version, ...rest } = v2;
  if (paymentToken !== undefined)
    throw new ClearPaymentTokenError('OrderPlaced v2 carries a payment token in clear; since v3 tokens travel sealed');
  return { ...rest, version: 3 };
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

/** The order service's events: its declaration lists them, so the registry registers them. */
export const ORDER_EVENTS = defineEvents({
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
});

type OrderEvents = typeof ORDER_EVENTS;
declare module '../../shared/events/catalog' {
  interface EventCatalog extends OrderEvents {}
}
