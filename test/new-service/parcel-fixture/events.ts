import { Type, type Static } from '@sinclair/typebox';
import { defineEvents } from '../../shared/events/catalog';
import { eventSchema, LineItems } from '../../shared/events/common';

export const ParcelBooked = eventSchema('ParcelBooked', 1, { items: LineItems, carrier: Type.String({ minLength: 1, maxLength: 64 }) });
export type ParcelBooked = Static<typeof ParcelBooked>;

/** The events this service owns: its declaration lists them, so the registry registers them. */
export const PARCEL_FIXTURE_EVENTS = defineEvents({
  ParcelBooked: { routingKey: 'parcel-fixture.booked', version: 1, schema: ParcelBooked },
});

type ParcelFixtureEvents = typeof PARCEL_FIXTURE_EVENTS;
declare module '../../shared/events/catalog' {
  interface EventCatalog extends ParcelFixtureEvents {}
}
