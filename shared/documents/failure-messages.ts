import type { ServiceDeclaration } from '../lifecycle/declaration';
import { deadLetterId, retryCopyId } from './broker-channels';
import { messageId, type EventVersion } from './event-messages';
import { headersRef } from './message-headers';

const schemaRef = (v: EventVersion) => ({ $ref: `#/components/schemas/${messageId(v)}` });

/**
 * `components.messages` for each consumed queue's failure copies. The body is the failed delivery's, byte for byte:
 * a retry copy is one of the events bound to the queue (only a readable event fails transiently); a dead letter
 * may be anything, including what could not be read.
 */
export function failureMessages(services: readonly ServiceDeclaration[], versions: readonly EventVersion[]): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  for (const queue of services.flatMap((s) => s.consumes)) {
    const bound = versions.filter((v) => queue.bindings.includes(v.routingKey));
    messages[retryCopyId(queue.name)] = {
      name: 'RetryCopy',
      title: `${queue.name}: retry copy`,
      summary: 'A delivery that failed transiently, waiting for its next attempt.',
      contentType: 'application/json',
      headers: headersRef('RetryHeaders'),
      payload: { oneOf: bound.map(schemaRef) },
    };
    messages[deadLetterId(queue.name)] = {
      name: 'DeadLetter',
      title: `${queue.name}: dead letter`,
      summary: 'A delivery that failed for good, with the reason in its headers.',
      description:
        "The body is the failed delivery's unchanged: usually one of the events bound to the queue, but it may be anything " +
        'that could not be read (not JSON, an unknown event or version, over the size limit).',
      headers: headersRef('DeadLetterHeaders'),
      payload: { description: 'the failed delivery, byte for byte' },
    };
  }
  return messages;
}
