import assert from 'node:assert/strict';
import { DeferredError, TransientError } from '../../shared/errors/errors';
import { H } from '../../shared/messaging/retry-policy';
import { CannotApplyError } from './fakes/cannot-apply-error';
import { assertBrokersSawNoViolation, eventProps, headersOf, startConsumer } from './fakes/consumer-harness';
import { body, paymentDeclined, sleep, until, valueOf } from './fakes/fixtures';

// A transient failure or a deferral takes the retry path (the tiers, or the queue itself when there are none)
// before a dead letter, and each outcome is counted apart.
describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('takes a transient failure through every retry tier with a growing attempt, then dead-letters it as RETRIES_EXHAUSTED', async () => {
    const attempts: number[] = [];
    const { deliver, returnFromTier, broker, copies } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        attempts.push(ctx.attempt);
        throw new TransientError('gateway answered 503');
      },
    });
    const event = paymentDeclined('o-2');
    const first = deliver(body(event), eventProps(event));
    await until('the first retry copy', () => copies.published.length === 1);
    const second = returnFromTier(copies.published[0]!);
    await until('the second retry copy', () => copies.published.length === 2);
    const third = returnFromTier(copies.published[1]!);
    await until('the dead-letter copy', () => copies.published.length === 3);
    await until('every original acked', () => [first, second, third].every((m) => broker.settlement(m) === 'ack'));
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.deepEqual(
      copies.published.map((c) => `${c.exchange}/${c.routingKey}`),
      ['q.failures/retry.10', 'q.failures/retry.20', 'q.failures/dlq'],
    );
    assert.deepEqual(
      copies.published.map((c) => headersOf(c)[H.attempt]),
      [2, 3, 3],
    );
    const [retry1, retry2, dead] = copies.published.map(headersOf);
    assert.equal(retry1![H.reasonCode], undefined, 'a retry copy carries no dead-letter reason');
    assert.equal(retry2![H.firstFailureAt], retry1![H.firstFailureAt], 'the first failure is remembered across tiers');
    assert.equal(dead![H.originalRoutingKey], 'payment.declined', 'the original route survives the trip through the tiers');
    assert.equal(dead![H.reasonCode], 'RETRIES_EXHAUSTED');
    assert.equal(dead![H.errorClass], 'TransientError');
    assert.equal(dead![H.reason], 'gateway answered 503');
  });

  it('with no retry tiers, hands a deferral back to the queue after a pause, unspent, and counts it as deferred', async () => {
    const { deliver, broker, copies, metrics } = await startConsumer(
      { PaymentDeclined: async () => Promise.reject(new DeferredError('claim held elsewhere', 200, 60_000)) },
      { topology: { exchange: 'test.events', queues: [{ name: 'q', bindings: ['payment.#'] }], retryDelaysMs: [], queueType: 'quorum' } },
    );
    const msg = deliver(body(paymentDeclined()));
    await sleep(50);
    assert.equal(broker.settlement(msg), undefined, 'not handed back at once');
    await until('the requeue', () => broker.settlement(msg) === 'requeue', 2000);
    assert.equal(copies.published.length, 0, 'no copy: it waits in its own queue');
    assert.equal(await valueOf(metrics.consumed, { event_type: 'PaymentDeclined', outcome: 'deferred' }), 1);
  });

  it('counts retries, deferrals and dead letters each under its own outcome, and dates only a deferral', async () => {
    const failures: Record<string, Error> = {
      'o-retry': new TransientError('down'),
      'o-deferred': new DeferredError('claim held elsewhere', 15, 60_000),
      'o-dead': new CannotApplyError('no'),
    };
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async (ctx) => Promise.reject(failures[ctx.event.orderId]),
    });
    const msgs = Object.keys(failures).map((orderId) => deliver(body(paymentDeclined(orderId))));
    await until('every ack', () => msgs.every((m) => broker.settlement(m) === 'ack'));
    const counted = async (outcome: string) => valueOf(metrics.consumed, { event_type: 'PaymentDeclined', outcome });
    assert.deepEqual([await counted('retry'), await counted('deferred'), await counted('dead_letter')], [1, 1, 1]);
    assert.equal(await valueOf(metrics.deadLettered, { event_type: 'PaymentDeclined', reason_code: 'CANNOT_APPLY' }), 1);
    assert.equal((await metrics.deadLettered.get()).values.length, 1, 'only the dead letter is counted as one');
    const deferredSince = Object.fromEntries(
      copies.published.map((c) => [JSON.parse(c.content.toString()).orderId as string, headersOf(c)[H.deferredSince]]),
    );
    assert.match(String(deferredSince['o-deferred']), /^\d{4}-\d\d-\d\dT/);
    assert.equal(deferredSince['o-retry'], undefined);
    assert.equal(deferredSince['o-dead'], undefined);
  });
});
