import { failuresExchangeName } from '../messaging/topology';
import { fromFailurePath, withoutWarrenHeaders } from '../messaging/trusted-headers';
/** Headers the DLQ tool sets on a replayed message: an audit trail that survives a later failure. */
export const REPLAY_HEADERS = {
  /** How often the message was replayed from a DLQ. */
  count: 'x-warren-replay-count',
  /** When it was last replayed (ISO 8601). */
  at: 'x-warren-replayed-at',
} as const;

/**
 * A dead letter's headers, with the `x-warren-*` ones kept only if Warren can have written them.
 *
 * One Warren's consumer dead-lettered carries only headers it wrote itself (it drops forged ones on delivery, see
 * trusted-headers.ts). One the broker dead-lettered (a quorum queue's delivery limit: the message crashed its
 * worker every time) still has the headers it was published with, so a forged attempt count, first failure,
 * origin or replay count would reach the DLQ record and the replay. The newest `x-death` entry names the exchange
 * of the delivery that died and the queue it died in: the same test as for a live delivery decides.
 */
export function trustedDeadLetterHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  const newest = deathsOf(headers)[0];
  if (!newest || fromFailurePath(text(newest.exchange) ?? '', failuresExchangeName(text(newest.queue) ?? ''))) return headers;
  return withoutWarrenHeaders(headers);
}

/** Headers the broker owns: dead-letter history, and the delivery count a quorum queue keeps. */
export { BROKER_HEADERS } from '../messaging/retry-policy';

/** One `x-death` entry, as amqplib decodes it. */
export interface DeathEntry {
  queue?: unknown;
  reason?: unknown;
  time?: unknown;
  exchange?: unknown;
  'routing-keys'?: unknown;
}

/** The broker's dead-letter history, newest first; empty for a message Warren's consumer dead-lettered. */
export function deathsOf(headers: Record<string, unknown>): DeathEntry[] {
  const value = headers['x-death'];
  return Array.isArray(value) ? value.filter((d): d is DeathEntry => typeof d === 'object' && d !== null) : [];
}

export function firstRoutingKey(death: DeathEntry | undefined): string | undefined {
  const keys = death?.['routing-keys'];
  return Array.isArray(keys) ? text(keys[0]) : undefined;
}

/** Header values arrive as strings, Buffers or numbers, depending on the publisher. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined;
  if (Buffer.isBuffer(value)) return value.toString('utf8') || undefined;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}
