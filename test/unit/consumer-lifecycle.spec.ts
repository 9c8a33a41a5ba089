import assert from 'node:assert/strict';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { assertBrokersSawNoViolation, eventProps, startConsumer } from './fakes/consumer-harness';
import { body, capturedLog, paymentDeclined, sleep, until, valueOf } from './fakes/fixtures';

// The consumer's life around its handlers: it subscribes only once its topology stands, is ready only while it
// consumes, and on stop drains what runs (within its timeout) before closing, never to come back.
describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('without a channel of its own to look on, declares its whole topology, then consumes with manual acks under its prefetch', async () => {
    const { broker } = await startConsumer({});
    assert.equal(broker.calls[0], 'assertExchange test.events topic');
    assert.ok(broker.calls.includes('assertExchange q.failures direct'));
    assert.ok(broker.calls.includes('bindQueue q test.events payment.#'));
    assert.ok(broker.calls.includes('assertQueue q.retry.10 ttl=10'));
    assert.ok(broker.calls.includes('bindQueue q.dlq q.failures dlq'));
    assert.deepEqual(broker.calls.slice(-2), ['prefetch 4', 'consume q'], 'consumes only once the topology is in place, never with noAck');
  });

  it('on stop, cancels its broker consumer, lets the running handler finish, acks it, then closes its channel', async () => {
    let release!: () => void;
    const { consumer, deliver, broker, wrapper } = await startConsumer({ PaymentDeclined: () => new Promise<void>((r) => (release = r)) });
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    assert.equal(consumer.consuming, true);
    const stopped = consumer.stop(1000);
    await until('the cancel', () => broker.calls.includes('cancel ctag-1'));
    assert.equal(consumer.consuming, false);
    assert.throws(() => deliver(body(event)), /no consumer on q/, 'the broker sends it nothing more');
    assert.equal(wrapper.closed, false, 'not closed under a running handler');
    release();
    await stopped;
    assert.equal(broker.settlement(msg), 'ack');
    assert.equal(wrapper.closed, true);
  });

  it('is ready while it consumes, and not while the broker has cancelled it nor once stopped', async () => {
    const { consumer, broker } = await startConsumer({});
    assert.equal(consumer.isReady, true);
    broker.cancelByBroker('q');
    assert.equal(consumer.isReady, false);
    await until('the new subscription', () => consumer.consuming, 2000);
    await consumer.stop(100);
    assert.equal(consumer.isReady, false);
  });

  it('counts its running handlers, and on stop waits for them no longer than its timeout, warning of those it leaves', async () => {
    const { log, lines } = capturedLog();
    const warnings = () => lines.filter((l) => l['level'] === 'warn').map((l) => l['inFlight']);
    let release: (() => void) | undefined;
    const first = await startConsumer({ PaymentDeclined: () => new Promise<void>((r) => (release = r)) }, { log });
    const inFlight = () => valueOf(first.metrics.inFlight, { queue: 'q' });
    const quick = first.deliver(body(paymentDeclined()));
    await until('the handler', () => release !== undefined);
    assert.equal(await inFlight(), 1);
    setTimeout(() => release!(), 30);
    let started = Date.now();
    await first.consumer.stop(1000);
    assert.ok(Date.now() - started < 500, 'stopped once the handler was done, not at the timeout');
    assert.equal(first.broker.settlement(quick), 'ack');
    assert.equal(await inFlight(), 0);
    assert.equal(first.wrapper.closed, true);
    assert.deepEqual(warnings(), [], 'nothing left behind');

    let running = false;
    const second = await startConsumer(
      {
        PaymentDeclined: () => {
          running = true;
          return new Promise<void>(() => undefined);
        },
      },
      { log },
    );
    const stuck = second.deliver(body(paymentDeclined()));
    await until('the stuck handler', () => running);
    started = Date.now();
    await second.consumer.stop(60);
    const waited = Date.now() - started;
    assert.ok(waited >= 50 && waited < 1000, `gave up after ${waited} ms`);
    assert.equal(second.broker.settlement(stuck), undefined, 'left to the broker to redeliver');
    assert.equal(second.wrapper.closed, true);
    assert.deepEqual(warnings(), [1]);
  });

  it('does not recover a channel lost while it drains: stopping is final', async () => {
    const { consumer, deliver, broker, amqp } = await startConsumer({ PaymentDeclined: () => sleep(RECOVERY_FIRST_DELAY_MS * 3) });
    deliver(body(paymentDeclined()));
    const stopped = consumer.stop(2000);
    await until('the cancel', () => broker.calls.includes('cancel ctag-1'));
    broker.closeByBroker();
    await stopped;
    assert.equal(amqp.channel('consumer:q'), broker, 'no channel opened to subscribe again');
  });
});
