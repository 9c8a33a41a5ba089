import type { Static, TSchema } from '@sinclair/typebox';

interface LegacyVersion {
  schema: TSchema;
  /** Turns this version into the next one up (or straight into the current one). */
  upcast: (event: never) => unknown;
}

export interface CatalogEntry {
  routingKey: string;
  version: number;
  schema: TSchema;
  /** Older versions still accepted on the way in, keyed by version number. */
  legacy?: Record<number, LegacyVersion>;
}

/**
 * Every event of the fleet, by type, as the compiler sees it. Empty here: each service's `events.ts` adds the events
 * it owns (`declare module` … `interface EventCatalog extends ...`), so a new service's events need no edit in
 * shared/. At run time the same entries are registered by {@link defineEvents}.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface EventCatalog {}

export type EventType = keyof EventCatalog & string;
export type EventOf<T extends EventType> = Static<EventCatalog[T]['schema']>;
export type AnyEvent = { [T in EventType]: EventOf<T> }[EventType];
/** The fields a publisher supplies; the metadata is filled in by {@link createEvent}. */
export type PayloadOf<T extends EventType> = Omit<
  EventOf<T>,
  'eventType' | 'version' | 'eventId' | 'correlationId' | 'causationId' | 'timestamp'
>;

const ENTRIES = new Map<string, CatalogEntry>();
const BY_ROUTING_KEY = new Map<string, string>();

/**
 * Registers a service's events (their routing keys, current versions and schemas, and the older versions they
 * upcast) and returns them as given, typed. Called once per `events.ts`, at import: a declaration lists its events,
 * so importing the registry registers the fleet's. Two services claiming one type or one routing key is a bug.
 */
export function defineEvents<const E extends Record<string, CatalogEntry>>(events: E): E {
  for (const [type, entry] of Object.entries(events)) {
    const known = ENTRIES.get(type);
    if (known !== undefined && known !== entry) throw new Error(`event type ${type} is defined twice`);
    const owner = BY_ROUTING_KEY.get(entry.routingKey);
    if (owner !== undefined && owner !== type) throw new Error(`routing key ${entry.routingKey} is taken by ${owner} and ${type}`);
    ENTRIES.set(type, entry);
    BY_ROUTING_KEY.set(entry.routingKey, type);
  }
  return events;
}

/** The entry of a registered type. */
export function catalogEntry(eventType: EventType): CatalogEntry {
  const entry = ENTRIES.get(eventType);
  if (entry === undefined) throw new Error(`event type ${eventType} is not registered: import the events.ts that defines it`);
  return entry;
}

/** The entry of whatever a message names as its type, if registered: one lookup on the way in. */
export function entryOf(value: unknown): CatalogEntry | undefined {
  return typeof value === 'string' ? ENTRIES.get(value) : undefined;
}

export function isEventType(value: unknown): value is EventType {
  return entryOf(value) !== undefined;
}

export function routingKeyOf(eventType: EventType): string {
  return catalogEntry(eventType).routingKey;
}
