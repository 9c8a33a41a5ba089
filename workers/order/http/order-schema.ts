import { Type, type Static } from '@sinclair/typebox';
import { CustomerId, Id, LineItems, Money } from '../../../shared/events/common';
import { CURRENCY_CODES } from '../../../shared/money/currency';

/** An ISO 4217 code a shop charges in (shared/money/currency.ts): any other is a 400 naming /currency. */
const OrderCurrency = Type.Unsafe<string>({ type: 'string', enum: [...CURRENCY_CODES], description: 'ISO 4217 currency code' });

/**
 * `POST /orders`: the fields of `OrderPlaced` v2 that a client supplies. Unknown fields are refused by name.
 * `customerId` is optional: with authentication on the customer is the token's subject (order-checks.ts).
 */
export const PlaceOrderBody = Type.Object(
  {
    customerId: Type.Optional(CustomerId),
    items: LineItems,
    totalAmount: Money,
    currency: OrderCurrency,
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
