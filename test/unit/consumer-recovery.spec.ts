import assert from 'node:assert/strict';
import { RECOVERY_FIRST_DELAY_MS, recoveryDelayMs, RECOVERY_MAX_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { Consumer } from '../../shared/messaging/consumer';
import type { Publisher } from '../../shared/messaging/publisher';
import { assertBrokersSawNoViolation, eventProps, startConsumer } from './fakes/consumer-harness';
import { FakeConnectionManager } from './fakes/fake-connection-manager';
import { body, paymentDeclined, quietLog, sleep, testMetrics, until, valueOf } from './fakes/fixtures';

/** What amqplib's channel reports when the broker refuses a declaration for want of permission. */
const accessRefused = (): Error => Object.assign(new Error('Operation failed: QueueDeclare; 403 (ACCESS-REFUSED)'), { code: 403 });

describe('Consumer recovery (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('after a broker cancel, declares its topology again and subscribes again on the same channel', async () => {
    const handled: string[] = [];
    const { consumer, broker, metrics, deliver } = await startConsumer({
      PaymentDeclined: async (ctx) => void handled.push(ctx.event.orderId),
    });
    const declared = broker.calls.filter((c) => c === 'assertQueue q').length;
    broker.cancelByBroker('q');
    assert.equal(consumer.consuming, false);
    assert.equal(await valueOf(metrics.consumerUp, { queue: 'q' }), 0);
    await until('the new subscription', () => consumer.consuming, 2000);
    assert.equal(broker.calls.filter((c) => c === 'assertQueue q').length, declared + 1, 'the deleted queue is declared again');
    assert.deepEqual(broker.calls.slice(-2), ['prefetch 4', 'consume q']);
    assert.equal(await valueOf(metrics.consumerRecoveries, { queue: 'q' }), 1);
    assert.equal(await valueOf(metrics.consumerUp, { queue: 'q' }), 1);
    const event = paymentDeclined('o-after');
    const msg = deliver(body(event), eventProps(event));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.deepEqual(handled, ['o-after']);
    await consumer.stop(100);
  });

  it('after the broker closed its channel, opens a new one, sets it up and consumes there', async () => {
    const { consumer, broker, metrics, amqp, wrapper } = await startConsumer({});
    broker.closeByBroker();
    assert.equal(consumer.consuming, false);
    await until('a subscription on a new channel', () => consumer.consuming, 2000);
    const fresh = amqp.channel('consumer:q');
    assert.notEqual(fresh, broker, 'a new channel');
    assert.equal(wrapper.closed, true, 'the dead channel wrapper is let go');
    assert.ok(fresh.calls.includes('assertQueue q'));
    assert.deepEqual(fresh.calls.slice(-2), ['prefetch 4', 'consume q']);
    assert.equal(await valueOf(metrics.consumerRecoveries, { queue: 'q' }), 1);
    await consumer.stop(100);
  });

  it('turns unhealthy once it cannot recover within its deadline, and healthy again once it does', async () => {
    const { consumer, broker, amqp } = await startConsumer({}, { recoveryDeadlineMs: 400 });
    // Read permission revoked: a restart might mend it (new credentials), so the deadline applies.
    amqp.refuseConsume = Object.assign(new Error('Operation failed: BasicConsume; 403 (ACCESS-REFUSED)'), { code: 403 });
    broker.closeByBroker();
    await sleep(200);
    assert.equal(consumer.healthy, true, 'still inside the deadline');
    await until('the deadline', () => !consumer.healthy, 2000);
    assert.equal(consumer.consuming, false);
    assert.ok(amqp.wrappers.get('consumer:q')!.channel.calls.includes('assertExchange test.events topic'), 'it kept trying');
    amqp.refuseConsume = undefined;
    await until('the recovery', () => consumer.consuming, 5000);
    assert.equal(consumer.healthy, true);
    await consumer.stop(100);
  });

  it('stays healthy past its deadline while its topology is missing and may not be declared: a restart would not declare it', async () => {
    const { consumer, broker, amqp } = await startConsumer({}, { recoveryDeadlineMs: 300 });
    amqp.refuse = accessRefused();
    broker.closeByBroker();
    await sleep(900);
    assert.equal(consumer.consuming, false);
    assert.equal(consumer.healthy, true, 'liveness stays green while the operator is awaited');
    amqp.refuse = undefined;
    await until('the recovery', () => consumer.consuming, 5000);
    await consumer.stop(100);
  });

  it('a consumer paused by its kill switch while recovering counts as recovered once its channel is back', async () => {
    const { consumer, broker, amqp } = await startConsumer(
      {},
      { recoveryDeadlineMs: 300, killSwitch: { threshold: 1, windowMs: 1000, cooldownMs: 60_000 } },
    );
    broker.closeByBroker();
    // The kill switch trips on a failure that was in flight when the channel went.
    (consumer as unknown as { killSwitch: { record(o: string): void } }).killSwitch.record('transient');
    await until('a new channel', () => amqp.channel('consumer:q') !== broker, 2000);
    await sleep(500);
    assert.equal(consumer.consuming, false, 'still paused');
    assert.equal(consumer.healthy, true, 'paused on purpose is not a lost consumer');
    await consumer.stop(100);
  });

  it('is ready only once it consumes, even when the broker refused its first setup', async () => {
    const amqp = new FakeConnectionManager();
    amqp.refuse = accessRefused();
    const consumer = new Consumer(amqp.manager, {
      queue: 'q',
      topology: { exchange: 'test.events', queues: [{ name: 'q', bindings: [] }], retryDelaysMs: [10], queueType: 'quorum' },
      prefetch: 4,
      handlers: {},
      middleware: [],
      publisher: {} as Publisher,
      service: 'test',
      log: quietLog,
      metrics: testMetrics(),
    });
    let ready = false;
    const started = consumer.ready().then(() => (ready = true));
    await sleep(RECOVERY_FIRST_DELAY_MS * 2);
    assert.equal(ready, false, 'not ready while refused');
    amqp.refuse = undefined;
    await started;
    assert.equal(consumer.consuming, true);
    await consumer.stop(100);
  });

  it('does not subscribe again once stopping', async () => {
    const { consumer, broker } = await startConsumer({});
    broker.cancelByBroker('q');
    await consumer.stop(100);
    await sleep(RECOVERY_FIRST_DELAY_MS * 2);
    assert.equal(broker.calls.filter((c) => c === 'consume q').length, 1);
    assert.equal(consumer.consuming, false);
  });

  it('waits longer after each failed attempt, up to a cap', () => {
    assert.equal(recoveryDelayMs(0), RECOVERY_FIRST_DELAY_MS);
    assert.equal(recoveryDelayMs(1), RECOVERY_FIRST_DELAY_MS * 2);
    assert.equal(recoveryDelayMs(50), RECOVERY_MAX_DELAY_MS);
  });
});
