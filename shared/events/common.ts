import { Type, type TSchema } from '@sinclair/typebox';

export const OrderId = Type.String({ minLength: 1, maxLength: 128 });
export const Timestamp = Type.String({ format: 'date-time' });
export const Money = Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000 });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export const LineItem = Type.Object({
  productId: Type.String({ minLength: 1, maxLength: 64 }),
  quantity: Type.Integer({ minimum: 1, maximum: 10_000 }),
});
export const LineItems = Type.Array(LineItem, { minItems: 1, maxItems: 100 });

/**
 * Metadata every current event carries beside the seed's flat fields. `correlationId` is the order's id;
 * `causationId` is the `eventId` of the event that caused this one (absent for an order placed over HTTP).
 */
export function metadata<T extends string, V extends number>(eventType: T, version: V) {
  return {
    eventType: Type.Literal(eventType),
    version: Type.Literal(version),
    eventId: Type.String({ minLength: 1, maxLength: 128 }),
    orderId: OrderId,
    correlationId: Type.String({ minLength: 1, maxLength: 128 }),
    causationId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    timestamp: Timestamp,
  };
}

/** A current-version event: its metadata plus its payload fields, flat as in the seed document. */
export function eventSchema<T extends string, V extends number, P extends Record<string, TSchema>>(eventType: T, version: V, payload: P) {
  return Type.Object({ ...metadata(eventType, version), ...payload });
}
