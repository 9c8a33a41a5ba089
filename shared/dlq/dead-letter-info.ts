import { createHash } from 'node:crypto';
import type { Message } from 'amqplib';
import { H } from '../messaging/retry-policy';
import { TRUNCATED_BODY_HEADERS } from '../messaging/failure-copy';
import { deathsOf, firstRoutingKey, REPLAY_HEADERS, text, trustedDeadLetterHeaders } from './dead-letter-headers';

/**
 * Who put a message in its DLQ: Warren's consumer (x-warren-* headers, after a permanent failure or the last
 * retry), or the broker itself (x-death, when a quorum queue's delivery limit was reached).
 */
export type DeadLetterSource = 'consumer' | 'broker' | 'unknown';

/** What an operator needs to know about one dead-lettered message. Never holds the body or a token. */
export interface DeadLetterInfo {
  /** The AMQP message id; for a message without one, `sha256:` and a digest of its body (see `derivedId`). */
  messageId: string;
  derivedId: boolean;
  eventType?: string;
  orderId?: string;
  correlationId?: string;
  reason?: string;
  /** e.g. `MALFORMED_JSON`, `SCHEMA_VIOLATION`, `RETRIES_EXHAUSTED`, or `DELIVERY_LIMIT` for the broker's own. */
  reasonCode?: string;
  errorClass?: string;
  /** Handler attempts made (1 for a permanent failure, tiers + 1 when the retries ran out), when recorded. */
  attempts?: number;
  firstFailureAt?: string;
  lastFailureAt?: string;
  deadLetteredAt?: string;
  /** The queue whose consumer gave up on it: a replay goes back there and nowhere else. */
  failingQueue?: string;
  originalExchange?: string;
  originalRoutingKey?: string;
  service?: string;
  source: DeadLetterSource;
  /** How often the DLQ tool replayed it before. */
  replayCount: number;
  /** Set when its consumer kept only the head of an oversized body: the original's size and sha256 (hex). */
  truncatedBody?: { originalBytes: number; sha256: string };
}

/** Reads a dead-lettered message's headers, properties and (if it is JSON) body into a {@link DeadLetterInfo}. */
export function describeDeadLetter(msg: Message): DeadLetterInfo {
  const headers = trustedDeadLetterHeaders(msg.properties.headers ?? {});
  const body = parseBody(msg.content);
  const deaths = deathsOf(headers);
  const lastDeath = deaths[0];
  const firstDeath = deaths[deaths.length - 1];
  const { messageId, derivedId } = messageIdOf(msg);
  const warren = text(headers[H.reason]) !== undefined;
  const brokerReason = text(lastDeath?.reason) ?? text(headers['x-first-death-reason']);
  return compact({
    messageId,
    derivedId,
    eventType: text(msg.properties.type) ?? text(body?.['eventType']),
    orderId: text(body?.['orderId']),
    correlationId: text(headers[H.correlationId]) ?? text(msg.properties.correlationId) ?? text(body?.['correlationId']),
    reason: lastDeath ? brokerReasonText(brokerReason) : text(headers[H.reason]),
    reasonCode: lastDeath ? brokerReason?.toUpperCase() : text(headers[H.reasonCode]),
    errorClass: lastDeath ? undefined : text(headers[H.errorClass]),
    attempts: positiveInt(headers[H.attempt]),
    firstFailureAt: text(headers[H.firstFailureAt]) ?? isoTime(firstDeath?.time),
    lastFailureAt: lastDeath ? isoTime(lastDeath.time) : text(headers[H.lastFailureAt]),
    deadLetteredAt: lastDeath ? isoTime(lastDeath.time) : text(headers[H.deadLetteredAt]),
    failingQueue: failingQueueOf(headers),
    originalExchange: text(headers[H.originalExchange]) ?? text(firstDeath?.exchange),
    originalRoutingKey: text(headers[H.originalRoutingKey]) ?? firstRoutingKey(firstDeath),
    service: text(headers[H.service]),
    source: lastDeath ? 'broker' : warren ? 'consumer' : 'unknown',
    replayCount: positiveInt(headers[REPLAY_HEADERS.count]) ?? 0,
    truncatedBody: truncatedBodyOf(headers),
  });
}

function truncatedBodyOf(headers: Record<string, unknown>): DeadLetterInfo['truncatedBody'] {
  const originalBytes = positiveInt(headers[TRUNCATED_BODY_HEADERS.bytes]);
  const sha256 = text(headers[TRUNCATED_BODY_HEADERS.sha256]);
  return originalBytes !== undefined || sha256 !== undefined
    ? { originalBytes: originalBytes ?? 0, sha256: sha256 ?? 'unknown' }
    : undefined;
}

/**
 * The queue that failed the message. A broker dead-letter names it in the newest `x-death` entry (the first one);
 * `x-first-death-queue` may name a retry queue the message merely expired from on its way, so it is the last resort.
 */
export function failingQueueOf(headers: Record<string, unknown>): string | undefined {
  const deaths = deathsOf(headers);
  if (deaths.length > 0) return text(deaths[0]?.queue);
  return text(headers[H.queue]) ?? text(headers['x-last-death-queue']) ?? text(headers['x-first-death-queue']);
}

/** A message without a message id is named by a digest of its body, so that `replay --id` can still pick it. */
export function messageIdOf(msg: Message): { messageId: string; derivedId: boolean } {
  const id = text(msg.properties.messageId);
  if (id) return { messageId: id, derivedId: false };
  return { messageId: `sha256:${createHash('sha256').update(msg.content).digest('hex').slice(0, 16)}`, derivedId: true };
}

const BROKER_REASONS: Record<string, string> = {
  delivery_limit: "the queue's delivery limit was reached: it was redelivered (worker crash or requeue) on every attempt",
  rejected: 'rejected without requeue by a consumer',
  expired: 'its TTL expired',
  maxlen: 'the queue was over its length limit',
};

function brokerReasonText(reason: string | undefined): string {
  return `dead-lettered by the broker: ${(reason && BROKER_REASONS[reason]) ?? reason ?? 'unknown reason'}`;
}

/** Bodies over this size are not parsed for display. */
const MAX_PARSED_BODY = 1024 * 1024;

function parseBody(content: Buffer): Record<string, unknown> | undefined {
  if (content.length > MAX_PARSED_BODY) return undefined;
  try {
    const value: unknown = JSON.parse(content.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function positiveInt(value: unknown): number | undefined {
  const n = Number(text(value));
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** AMQP timestamps are seconds; amqplib hands them over as `{ '!': 'timestamp', value }`, a number or a Date. */
function isoTime(value: unknown): string | undefined {
  const raw = typeof value === 'object' && value !== null && 'value' in value ? (value as { value: unknown }).value : value;
  if (raw instanceof Date) return raw.toISOString();
  const seconds = Number(raw);
  return raw != null && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : undefined;
}

/** Drops undefined fields, so that JSON output and tables only show what is known. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
