import { Type, type Static } from '@sinclair/typebox';
import { Currency, eventSchema, Money } from './common';

export const PaymentCaptured = eventSchema('PaymentCaptured', 1, {
  amount: Money,
  currency: Currency,
  paymentId: Type.String({ minLength: 1, maxLength: 128 }),
});
export type PaymentCaptured = Static<typeof PaymentCaptured>;

export const PaymentDeclined = eventSchema('PaymentDeclined', 1, {
  reason: Type.String({ minLength: 1, maxLength: 64 }),
});
export type PaymentDeclined = Static<typeof PaymentDeclined>;

export const PaymentRefunded = eventSchema('PaymentRefunded', 1, {
  amount: Money,
  currency: Currency,
  paymentId: Type.String({ minLength: 1, maxLength: 128 }),
});
export type PaymentRefunded = Static<typeof PaymentRefunded>;
