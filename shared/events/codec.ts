import { randomUUID } from 'node:crypto';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { SchemaViolationError, UnknownEventError } from '../errors/errors';
import { catalogEntry, entryOf, type AnyEvent, type EventOf, type EventType, type PayloadOf } from './catalog';

// `fast` date-time: one regular expression per value instead of a parse and a calendar check (a profile of the
// inventory worker had the full check at 2 % of its time). The shape is still enforced; Feb 30 is not caught.
const ajv = addFormats(new Ajv({ allErrors: false, strict: true }), { mode: 'fast', formats: ['date-time'] });
const compiled = new Map<TSchema, ValidateFunction>();

/** Validators are compiled once per schema, at first use, never per message. */
function validatorFor(schema: TSchema): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
}

function assertValid(schema: TSchema, value: unknown, what: string): void {
  const validate = validatorFor(schema);
  if (!validate(value)) throw schemaError(what, validate.errors?.[0]);
}

export function schemaError(what: string, error: ErrorObject | undefined): SchemaViolationError {
  const field = fieldOf(error);
  return new SchemaViolationError(`${what}: ${field || '(root)'} ${error?.message ?? 'is invalid'}`, field);
}

/** The offending field as a JSON pointer, including a missing required property's own name. */
export function fieldOf(error: ErrorObject | undefined): string {
  if (!error) return '';
  const missing = error.keyword === 'required' ? `/${String(error.params['missingProperty'])}` : '';
  const extra = error.keyword === 'additionalProperties' ? `/${String(error.params['additionalProperty'])}` : '';
  return `${error.instancePath}${missing}${extra}`;
}

/**
 * Validates an incoming body against the schema of its type and version, then upcasts it to the current
 * version. A body without `version` is version 1 (the seed's shape). Throws a permanent error otherwise.
 */
export function decodeEvent(body: unknown): AnyEvent {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SchemaViolationError('event: body is not a JSON object', '');
  const { eventType: named, version = 1 } = body as { eventType?: unknown; version?: unknown };
  const entry = entryOf(named);
  if (entry === undefined) throw new UnknownEventError(`unknown eventType ${JSON.stringify(named)}`);
  const eventType = named as EventType;
  if (version === entry.version) {
    assertValid(entry.schema, body, eventType);
    return body as AnyEvent;
  }
  const legacy = typeof version === 'number' ? entry.legacy?.[version] : undefined;
  if (!legacy) throw new UnknownEventError(`unknown version ${JSON.stringify(version)} of ${eventType}`);
  assertValid(legacy.schema, body, `${eventType} v${String(version)}`);
  const upcast = legacy.upcast(body as never);
  assertValid(entry.schema, upcast, `${eventType} (upcast from v${String(version)})`);
  return upcast as AnyEvent;
}

export interface Causation {
  /** The order's id; every event of one order's journey carries it. */
  correlationId: string;
  /** The eventId of the event that caused this one. */
  causationId?: string;
  /** A deterministic id, so that re-deriving the same outcome yields the same event; a random UUID otherwise. */
  eventId?: string;
  timestamp?: string;
}

/** Builds a current-version event and validates it on the way out: a bug here must not reach the bus. */
export function createEvent<T extends EventType>(eventType: T, payload: PayloadOf<T>, causation: Causation): EventOf<T> {
  const entry = catalogEntry(eventType);
  const event = {
    eventType,
    version: entry.version,
    eventId: causation.eventId ?? randomUUID(),
    ...payload,
    correlationId: causation.correlationId,
    ...(causation.causationId ? { causationId: causation.causationId } : {}),
    timestamp: causation.timestamp ?? new Date().toISOString(),
  };
  assertValid(entry.schema, event, `outgoing ${eventType}`);
  return event as unknown as EventOf<T>;
}

/** A stable id for the one `eventType` outcome of an order: a re-published outcome keeps its identity, so consumers dedupe it. */
export function derivedEventId(orderId: string, eventType: EventType): string {
  return `${eventType}:${orderId}`;
}
