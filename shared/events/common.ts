import { Type, type TSchema } from '@sinclair/typebox';

/**
 * The one rule for an id that comes from outside (an order, a product, a customer's order on the bus): a letter or
 * digit, then up to 63 of letters, digits, `_`, `.` and `-`. No `:` (the separator of Redis key segments, see
 * shared/redis/key-layout.ts), no `_` first (internal key names start with it), nothing a terminal or a URL
 * reads as syntax. 64 characters leave room for every id derived from one (`InventoryReleased:<id>`,
 * `v1:OrderPlaced:<id>`, the gateway's `ch_charge:<id>`) inside the 128 of {@link EventId}.
 */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const ID_MAX_LENGTH = 64;
export const Id = Type.String({ pattern: ID_PATTERN, minLength: 1, maxLength: ID_MAX_LENGTH });
export const OrderId = Id;
export const ProductId = Id;

/**
 * An event's own id, or one it names (correlation, causation): an {@link Id} or one derived from ids, so `:` is
 * allowed inside. Bounded to 128 so every derived id (at most 18 + 1 + 64 characters) fits.
 */
export const EVENT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
export const EventId = Type.String({ pattern: EVENT_ID_PATTERN, minLength: 1, maxLength: 128 });

/**
 * Who placed an order: shown and stored, never part of a key, so it may hold what an identity provider's subject
 * holds (`auth0|123`, an e-mail address), but only printable ASCII: nothing a log reader or terminal acts on.
 */
export const CustomerId = Type.String({ pattern: '^[\\x21-\\x7E]{1,128}$', minLength: 1, maxLength: 128 });

const ID_REGEX = new RegExp(ID_PATTERN);

/** Whether a string obeys the {@link Id} rule (for code paths that take an id without a schema). */
export function isId(value: string): boolean {
  return ID_REGEX.test(value);
}
export const Timestamp = Type.String({ format: 'date-time' });
export const Money = Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000_000 });
export const Currency = Type.String({ pattern: '^[A-Z]{3}$' });

export const LineItem = Type.Object({
  productId: ProductId,
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
    eventId: EventId,
    orderId: OrderId,
    correlationId: EventId,
    causationId: Type.Optional(EventId),
    timestamp: Timestamp,
  };
}

/** A current-version event: its metadata plus its payload fields, flat as in the seed document. */
export function eventSchema<T extends string, V extends number, P extends Record<string, TSchema>>(eventType: T, version: V, payload: P) {
  return Type.Object({ ...metadata(eventType, version), ...payload });
}
