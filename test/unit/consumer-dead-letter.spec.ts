import assert from 'node:assert/strict';
import { H } from '../../shared/messaging/retry-policy';
import { CannotApplyError } from './fakes/cannot-apply-error';
import { assertBrokersSawNoViolation, eventProps, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, paymentDeclined, until, valueOf } from './fakes/fixtures';

// A permanent failure skips the retry tiers: its dead letter carries the reason, the route it came by and its
// dates, and is counted under the event type that failed.
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('dead-letters a permanent failure at once, with the reason headers, then acks the original', async () => {
    let calls = 0;
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async () => {
        calls++;
        throw new CannotApplyError('order o-1 cannot be declined twice');
      },
    });
    const event = paymentDeclined('o-1');
    const content = body(event);
    const msg = deliver(content, {
      ...eventProps(event),
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(calls, 1, 'a permanent failure is not retried');
    assert.equal(copies.published.length, 1);
    const [copy] = copies.published;
    assert.equal(copy!.exchange, 'q.failures');
    assert.equal(copy!.routingKey, 'dlq');
    assert.ok(copy!.content.equals(content), 'the body is copied byte for byte');
    assert.equal(copy!.options.messageId, event.eventId);
    const headers = headersOf(copy);
    assert.equal(headers[H.reason], 'order o-1 cannot be declined twice');
    assert.equal(headers[H.reasonCode], 'CANNOT_APPLY');
    assert.equal(headers[H.errorClass], 'CannotApplyError');
    assert.equal(headers[H.attempt], 1);
    assert.equal(headers[H.queue], 'q');
    assert.equal(headers[H.service], 'payment');
    assert.equal(headers[H.originalExchange], 'test.events');
    assert.equal(headers[H.originalRoutingKey], 'payment.declined');
    assert.equal(headers[H.correlationId], 'o-1');
    for (const key of [H.deadLetteredAt, H.firstFailureAt, H.lastFailureAt]) assert.match(String(headers[key]), ISO, key);
    assert.equal(headers['traceparent'], '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'its own headers travel with it');
    assert.equal(await valueOf(metrics.deadLettered, { reason_code: 'CANNOT_APPLY' }), 1);
    assert.equal(await valueOf(metrics.consumed, { outcome: 'dead_letter' }), 1);
  });

  it('counts a failed event under its own event type', async () => {
    const { deliver, broker, metrics } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new CannotApplyError('no')) });
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(await valueOf(metrics.consumed, { event_type: 'PaymentDeclined', outcome: 'dead_letter' }), 1);
    assert.equal(await valueOf(metrics.deadLettered, { event_type: 'PaymentDeclined', reason_code: 'CANNOT_APPLY' }), 1);
  });
});
