import { Type, type Static } from '@sinclair/typebox';
import { Currency, LineItems, Money } from '../../../shared/events/common';

/** `POST /orders`: the fields of `OrderPlaced` v2 that a client supplies. Unknown fields are refused by name. */
export const PlaceOrderBody = Type.Object(
  {
    customerId: Type.String({ minLength: 1, maxLength: 128 }),
    items: LineItems,
    totalAmount: Money,
    currency: Currency,
    paymentToken: Type.String({ pattern: '^tok_[A-Za-z0-9_]{1,64}$', description: 'a payment token, never a card number' }),
  },
  { additionalProperties: false },
);
export type PlaceOrderBody = Static<typeof PlaceOrderBody>;

export const OrderParams = Type.Object({ orderId: Type.String({ minLength: 1, maxLength: 128 }) });
export type OrderParams = Static<typeof OrderParams>;

export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) });
