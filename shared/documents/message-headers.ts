import { REPLAY_HEADERS } from '../dlq/dead-letter-headers';
import { H } from '../messaging/retry-policy';

/** One AMQP header as the AsyncAPI document describes it: a JSON schema with its meaning. */
type HeaderSchema = { type: string | string[]; description: string; format?: string; pattern?: string; minimum?: number };

type WarrenHeader = (typeof H)[keyof typeof H] | (typeof REPLAY_HEADERS)[keyof typeof REPLAY_HEADERS];

const timestamp = (description: string): HeaderSchema => ({ type: 'string', format: 'date-time', description });
const text = (description: string): HeaderSchema => ({ type: 'string', description });

/** W3C trace context: every publish carries it; a consumer continues the trace from it. */
export const TRACEPARENT = 'traceparent';

const TRACE: Record<string, HeaderSchema> = {
  [TRACEPARENT]: {
    type: 'string',
    pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
    description: 'W3C trace context of the publishing span. Set on every event Warren publishes; a consumer starts a child span from it.',
  },
};

/**
 * Every `x-warren-*` header, named by the constants the code sets them with: a header added there without a line
 * here fails to compile, so the document cannot leave one out.
 */
const WARREN: Record<WarrenHeader, HeaderSchema> = {
  [H.attempt]: {
    type: 'integer',
    minimum: 1,
    description: 'The attempt this copy is for (2 is the first retry). Read by the consumer, back from a tier, to pick the next.',
  },
  [H.firstFailureAt]: timestamp('When the message first failed.'),
  [H.lastFailureAt]: timestamp('When it last failed.'),
  [H.queue]: text('The queue whose consumer failed it.'),
  [H.originalExchange]: text('The exchange it was first published to (kept across retries and replays).'),
  [H.originalRoutingKey]: text('The routing key it was first published with (kept across retries and replays).'),
  [H.reason]: text('Why it was dead-lettered: the error message, one line, at most 500 characters, payment tokens redacted.'),
  [H.reasonCode]: text('A stable code for the reason, e.g. SCHEMA_VIOLATION, UNKNOWN_EVENT, RETRIES_EXHAUSTED (also a metric label).'),
  [H.errorClass]: text('The class of the error, e.g. SchemaViolationError.'),
  [H.service]: text('The service that dead-lettered it.'),
  [H.deadLetteredAt]: timestamp('When it was dead-lettered.'),
  [H.correlationId]: text("The order's id, when the body or the AMQP properties had one."),
  [H.deferredSince]: timestamp(
    'When the message first found its claim held by another worker; such waits spend no attempt until the holder could only be stuck.',
  ),
  [REPLAY_HEADERS.count]: {
    type: 'integer',
    minimum: 1,
    description: 'How often the DLQ tool replayed the message (`npm run dlq -- replay`).',
  },
  [REPLAY_HEADERS.at]: timestamp('When the DLQ tool last replayed it.'),
};

/** Headers the broker sets: Warren reads them, never copies them onto a message it re-publishes. */
const BROKER: Record<string, HeaderSchema> = {
  'x-delivery-count': { type: 'integer', minimum: 0, description: 'Set by a quorum queue: earlier deliveries of this message.' },
  'x-acquired-count': {
    type: 'integer',
    minimum: 0,
    description: 'Set by a quorum queue from RabbitMQ 4.3: every hand-out of this message. Never copied onto a re-published message.',
  },
  'x-death': {
    type: 'array',
    description: "Set by the broker when it dead-letters (a retry tier's TTL, a quorum queue's delivery limit).",
  },
};

const pick = (from: Record<string, HeaderSchema>, names: readonly string[]) => Object.fromEntries(names.map((n) => [n, from[n]!]));

const RETRY_BOOKKEEPING = [H.attempt, H.firstFailureAt, H.lastFailureAt, H.queue, H.originalExchange, H.originalRoutingKey];
const DEAD_LETTER_RECORD = [H.reason, H.reasonCode, H.errorClass, H.service, H.deadLetteredAt, H.correlationId];

/**
 * Headers an event carries on the events exchange. `x-warren-*` ones are Warren's failure bookkeeping: a consumer
 * believes them only on a copy from its own failures exchange or a DLQ replay (shared/messaging/trusted-headers.ts).
 */
function eventHeaders() {
  return {
    type: 'object',
    description:
      'x-warren-* headers on a message published to the events exchange are dropped by the consumer: only the retry ' +
      'tiers (through <queue>.failures) and DLQ replays may carry them.',
    properties: { ...TRACE, ...pick(BROKER, ['x-delivery-count', 'x-acquired-count']) },
  };
}

/** A retry copy in a delay tier: the failure bookkeeping the consumer wrote, on top of the event's own headers. */
function retryHeaders() {
  return {
    type: 'object',
    properties: {
      ...TRACE,
      ...pick(WARREN, [...RETRY_BOOKKEEPING, H.deferredSince]),
      ...pick(WARREN, [REPLAY_HEADERS.count, REPLAY_HEADERS.at]),
    },
    required: [...RETRY_BOOKKEEPING],
  };
}

/**
 * A message in a DLQ. Warren's consumer writes the `x-warren-*` record; a message the broker dead-lettered itself
 * (a quorum queue's delivery limit: it killed its worker on every delivery) has only `x-death`, so none is required.
 */
function deadLetterHeaders() {
  return {
    type: 'object',
    properties: {
      ...TRACE,
      ...pick(WARREN, [...RETRY_BOOKKEEPING, H.deferredSince, ...DEAD_LETTER_RECORD]),
      ...pick(WARREN, [REPLAY_HEADERS.count, REPLAY_HEADERS.at]),
      ...BROKER,
    },
  };
}

/** `components.schemas` of the header sets, which messages reference by {@link headersRef}. */
export function headerSchemas(): Record<string, unknown> {
  return { EventHeaders: eventHeaders(), RetryHeaders: retryHeaders(), DeadLetterHeaders: deadLetterHeaders() };
}

export const headersRef = (set: 'EventHeaders' | 'RetryHeaders' | 'DeadLetterHeaders') => ({ $ref: `#/components/schemas/${set}` });
