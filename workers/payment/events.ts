import { Type, type Static } from '@sinclair/typebox';
import { defineEvents } from '../../shared/events/catalog';
import { Currency, eventSchema, Money } from '../../shared/events/common';

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

/** The payment service's events: its declaration lists them, so the registry registers them. */
export const PAYMENT_EVENTS = defineEvents({
  PaymentCaptured: { routingKey: 'payment.captured', version: 1, schema: PaymentCaptured },
  PaymentDeclined: { routingKey: 'payment.declined', version: 1, schema: PaymentDeclined },
  PaymentRefunded: { routingKey: 'payment.refunded', version: 1, schema: PaymentRefunded },
});

type PaymentEvents = typeof PAYMENT_EVENTS;
declare module '../../shared/events/catalog' {
  interface EventCatalog extends PaymentEvents {}
}
