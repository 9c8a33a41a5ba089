import { Type, type Static } from '@sinclair/typebox';
import { Currency, CustomerId, Id, LineItems, Money } from '../../../shared/events/common';

/** `POST /orders`: the fields of `OrderPlaced` v2 that a client supplies. Unknown fields are refused by name. */
export const PlaceOrderBody = Type.Object(
  {
    customerId: CustomerId,
    items: LineItems,
    totalAmount: Money,
    currency: Currency,
    paymentToken: Type.String({ pattern: '^tok_[A-Za-z0-9_]{1,64}$', description: 'a payment token, never a card number' }),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const OrderParams = Type.Object({ orderId: Id });
export type OrderParams = Static<typeof OrderParams>;

/**
 * Any printable ASCII the client chooses (a UUID, usually): the key is never part of a Redis key as it is, but
 * hashed into one (order-store.ts), so its alphabet only has to be safe to log and echo.
 */
export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ pattern: '^[\\x21-\\x7E]{1,255}$', minLength: 1, maxLength: 255 })),
});
