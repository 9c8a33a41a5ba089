import assert from 'node:assert/strict';
import { TransientError } from '../../shared/errors/errors';
import { CannotApplyError } from './fakes/cannot-apply-error';
import { assertBrokersSawNoViolation, eventProps, headersOf, startConsumer, xDeath } from './fakes/consumer-harness';
import { body, capturedLog, paymentDeclined, sleep, until } from './fakes/fixtures';

// The copy a failure travels as (to a retry tier or the DLQ): the original's own properties without the broker's
// headers, and the original acked only once the broker confirmed the copy, else handed back after a pause.
describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('never copies the headers the broker set (x-death, x-first-death-*, x-last-death-*, x-delivery-count, x-acquired-count)', async () => {
    const { deliver, copies } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        throw ctx.event.orderId === 'o-retry' ? new TransientError('later') : new CannotApplyError('never');
      },
    });
    const brokerHeaders = {
      'x-death': [xDeath(10)],
      'x-first-death-queue': 'q',
      'x-first-death-reason': 'expired',
      'x-last-death-queue': 'q.retry.10',
      'x-delivery-count': 3,
      // RabbitMQ 4.3's count of every hand-out of the message.
      'x-acquired-count': 4,
    };
    for (const orderId of ['o-retry', 'o-dead']) {
      const event = paymentDeclined(orderId);
      deliver(body(event), { ...eventProps(event), headers: { ...brokerHeaders, 'x-tenant': 'kept' } });
    }
    await until('both copies', () => copies.published.length === 2);
    for (const copy of copies.published) {
      const headers = headersOf(copy);
      assert.deepEqual(
        Object.keys(headers).filter((k) => k in brokerHeaders),
        [],
        copy.routingKey,
      );
      assert.equal(headers['x-tenant'], 'kept');
    }
  });

  it('acks the original only after the broker confirmed its copy', async () => {
    const { deliver, broker, copies } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new CannotApplyError('no')) });
    copies.confirm = 'never';
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the copy', () => copies.published.length === 1);
    await sleep(20);
    assert.equal(broker.settlement(msg), undefined, 'no ack while the copy is unconfirmed');
    copies.published[0]!.settle('ack');
    await until('the ack', () => broker.settlement(msg) === 'ack');
  });

  it('hands the original back to the broker (requeue, after a pause) when its copy is nacked, returned or never confirmed', async () => {
    const { log, lines } = capturedLog();
    const { deliver, broker, copies } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new CannotApplyError('no')) },
      { confirmTimeoutMs: 50, log },
    );
    const outcomes = { 'o-nack': 'nack', 'o-return': 'return', 'o-late': 'never' } as const;
    copies.confirm = (p) => outcomes[JSON.parse(p.content.toString()).orderId as keyof typeof outcomes];
    const msgs = Object.keys(outcomes).map((orderId) => deliver(body(paymentDeclined(orderId))));
    await until('three copies', () => copies.published.length === 3);
    await sleep(300);
    assert.deepEqual(
      msgs.map((m) => broker.settlement(m)),
      [undefined, undefined, undefined],
      'not requeued at once: a broker refusing copies is not hammered',
    );
    await until('three requeues', () => msgs.every((m) => broker.settlement(m) === 'requeue'), 2000);
    assert.deepEqual(
      broker.frames.filter((f) => f.startsWith('ack')),
      [],
      'never acked',
    );
    const couldNotRoute = lines.filter((l) => l['msg'] === 'could not route failed message; requeueing');
    assert.deepEqual(couldNotRoute.map((l) => [l['level'], l['orderId']]).sort(), [
      ['error', 'o-late'],
      ['error', 'o-nack'],
      ['error', 'o-return'],
    ]);
    assert.match(String(couldNotRoute.find((l) => l['orderId'] === 'o-nack')?.['err']), /nacked/);
  });

  it("copies the original's own properties onto its failure copies, and names a copy by its event when the message had no id", async () => {
    const { deliver, copies } = await startConsumer({ PaymentDeclined: async () => Promise.reject(new TransientError('down')) });
    const event = paymentDeclined();
    const own = {
      type: 'PaymentDeclined',
      correlationId: 'o-1',
      timestamp: 1_767_225_600,
      contentType: 'application/cloudevents+json',
      appId: 'payment',
    };
    deliver(body(event), { ...own, messageId: 'm-own' });
    deliver(body(event), own);
    await until('both copies', () => copies.published.length === 2);
    const [withId, withoutId] = copies.published.map((c) => c.options);
    for (const options of [withId!, withoutId!]) {
      assert.deepEqual(
        {
          type: options.type,
          correlationId: options.correlationId,
          timestamp: options.timestamp,
          contentType: options.contentType,
          appId: options.appId,
        },
        own,
      );
    }
    assert.equal(withId!.messageId, 'm-own');
    assert.equal(withoutId!.messageId, event.eventId);
  });
});
