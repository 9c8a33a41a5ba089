import assert from 'node:assert/strict';
import type { Message } from 'amqplib';
import { expectedRoute, fromFailurePath, trustedHeaders } from '../../shared/messaging/trusted-headers';

const delivery = (exchange: string, headers?: Record<string, unknown>): Message =>
  ({
    content: Buffer.from('{}'),
    fields: { exchange, routingKey: 'k', deliveryTag: 1, redelivered: false },
    properties: { headers },
  }) as Message;

describe('trusted headers: x-warren-* believed only from the failure path', () => {
  const forged = { 'x-warren-attempt': 99, 'x-trace-note': 'mine', 'app-x-warren-note': 'kept', traceparent: 't' };

  it("drops Warren's headers from the events exchange, keeps every other header, even one merely containing x-warren-", () => {
    assert.deepEqual(trustedHeaders(delivery('warren.events', forged), 'q.failures'), {
      'x-trace-note': 'mine',
      'app-x-warren-note': 'kept',
      traceparent: 't',
    });
  });

  it("believes them from the queue's own failures exchange and from the default exchange (a replay), not another queue's", () => {
    assert.deepEqual(trustedHeaders(delivery('q.failures', forged), 'q.failures'), forged);
    assert.deepEqual(trustedHeaders(delivery('', forged), 'q.failures'), forged);
    assert.equal(trustedHeaders(delivery('other.failures', forged), 'q.failures')['x-warren-attempt'], undefined);
    assert.equal(fromFailurePath('q.failures.evil', 'q.failures'), false);
    assert.deepEqual(trustedHeaders(delivery('q.failures'), 'q.failures'), {}, 'a message without headers');
  });

  it('expects deliveries only through the events exchange, its own failures exchange or a replay', () => {
    assert.equal(expectedRoute('warren.events', 'q.failures', 'warren.events'), true);
    assert.equal(expectedRoute('q.failures', 'q.failures', 'warren.events'), true);
    assert.equal(expectedRoute('', 'q.failures', 'warren.events'), true);
    assert.equal(expectedRoute('amq.topic', 'q.failures', 'warren.events'), false);
    assert.equal(expectedRoute('other.failures', 'q.failures', 'warren.events'), false);
  });
});
