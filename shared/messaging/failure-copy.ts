import { createHash } from 'node:crypto';
import type { Message } from 'amqplib';
import { MessageTooLargeError } from '../errors/errors';
import { H } from './retry-policy';
import { trustedHeaders } from './trusted-headers';

// What a retry or dead-letter copy of a delivery carries beyond the headers: pure functions of the message.

/**
 * A body refused as too large is dead-lettered as its first this many bytes, with its size and sha256 in
 * {@link TRUNCATED_BODY_HEADERS}: enough to recognise it, while a DLQ of full copies (up to the broker's 16 MiB
 * each) would weigh on the broker and on whoever reads the DLQ. It could never be processed anyway.
 */
export const DEAD_LETTER_BODY_PREFIX_BYTES = 4096;

/** Headers of a dead letter whose body was truncated: the original body's size in bytes and its sha256 (hex). */
export const TRUNCATED_BODY_HEADERS = { bytes: 'x-warren-original-body-bytes', sha256: 'x-warren-original-body-sha256' } as const;

/** The attempt this delivery is, as Warren counted it: 1 for a message that came in from outside. */
export function attemptOf(msg: Message, failuresExchange: string): number {
  const value = Number(trustedHeaders(msg, failuresExchange)[H.attempt]);
  return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** The body a dead letter carries: the delivery's own, or the head of one refused as too large. */
export function deadLetterBody(content: Buffer, error: unknown): { content: Buffer; headers: Record<string, unknown> } {
  if (!(error instanceof MessageTooLargeError) || content.length <= DEAD_LETTER_BODY_PREFIX_BYTES) return { content, headers: {} };
  return {
    // A copy, not a view: a view would keep the whole body alive while the publish awaits its confirm.
    content: Buffer.from(content.subarray(0, DEAD_LETTER_BODY_PREFIX_BYTES)),
    headers: {
      [TRUNCATED_BODY_HEADERS.bytes]: content.length,
      [TRUNCATED_BODY_HEADERS.sha256]: createHash('sha256').update(content).digest('hex'),
    },
  };
}

/** The AMQP properties a copy keeps of the original. */
export function copyProperties(msg: Message) {
  const p = msg.properties;
  return {
    ...(p.type ? { type: p.type as string } : {}),
    ...(p.correlationId ? { correlationId: p.correlationId as string } : {}),
    ...(p.timestamp ? { timestamp: p.timestamp as number } : {}),
    ...(p.contentType ? { contentType: p.contentType as string } : {}),
    ...(p.appId ? { appId: p.appId as string } : {}),
  };
}
