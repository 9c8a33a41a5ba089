import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { Subscription } from '../../shared/messaging/subscription';
import { FakeConnectionManager } from './fakes/fake-connection-manager';
import { capturedLog, testMetrics } from './fakes/fixtures';
import { advance, CONSUME_REFUSED, DEADLINE_MS, DRIFT, subscribe, topology } from './fakes/subscription-harness';

// Subscription's health: a loss turns it unhealthy only once it has lasted the recovery deadline while the broker
// answers (an outage does not count, a refused queue does), so that a restart is asked for only when it can help.
describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('turns unhealthy exactly when a loss has lasted its deadline while the broker answers, and healthy once it consumes', async () => {
    const { subscription, amqp, channel } = subscribe();
    await subscription.ready();
    amqp.refuseConsume = CONSUME_REFUSED();
    channel().closeByBroker();
    await advance(DEADLINE_MS - 1);
    assert.equal(subscription.healthy, true, 'inside the deadline');
    await advance(1);
    assert.equal(subscription.healthy, false, 'the deadline has passed');
    assert.equal(subscription.consuming, false);
    amqp.refuseConsume = undefined;
    await advance(5000);
    assert.equal(subscription.consuming, true);
    assert.equal(subscription.healthy, true);
    await subscription.close();
  });

  it('a broker outage does not count toward the deadline: it counts from when the broker is back', async () => {
    // A deadline above the longest recovery delay (5 s): the outage is looked at once per attempt.
    const { subscription, channel, link, events } = subscribe({ recoveryDeadlineMs: 10_000 });
    await subscription.ready();
    link.connected = false;
    channel().cancelByBroker('q');
    await advance(60_000);
    assert.equal(subscription.healthy, true, 'a restart cannot mend an outage');
    assert.equal(subscription.consuming, false);
    // The broker is back, its queue not yet consumable: the outage's length is not held against the subscription.
    channel().refuseConsume = CONSUME_REFUSED();
    link.connected = true;
    events.emit('connect');
    await advance(50);
    assert.equal(subscription.healthy, true, 'the deadline counts from the broker being back, not from the loss');
    await subscription.close();
  });

  it('a broker that answers but drops the connection on every setup still counts toward the deadline', async () => {
    const { subscription, channel, link, events } = subscribe();
    await subscription.ready();
    link.connected = false;
    channel().cancelByBroker('q');
    await advance(1);
    // amqp-connection-manager connects again every second and drops it on the refused setup: down at most instants.
    // Looked at just after the recovery attempt of 1750 ms, which must not restart the deadline.
    for (let t = 0; t < 1800; t += 450) {
      events.emit('connect');
      await advance(450);
    }
    assert.equal(subscription.healthy, false);
    await subscription.close();
  });

  it('a queue the broker refuses for other arguments (406) is no missing topology: the deadline applies', async () => {
    const { subscription, amqp, channel, said } = subscribe();
    await subscription.ready();
    // Someone redeclared the queue with other arguments: a restart (with a fixed deploy) can mend it.
    channel().refuse = DRIFT();
    amqp.refuse = DRIFT();
    channel().cancelByBroker('q');
    await advance(DEADLINE_MS);
    assert.equal(subscription.healthy, false);
    const failed = said('consumer recovery attempt failed')[0];
    assert.match(String(failed?.err), /PRECONDITION_FAILED/);
    assert.equal(failed?.attempt, 0);
    await subscription.close();
  });

  it('refused its queue for other arguments from the start, turns unhealthy past its deadline', async () => {
    const amqp = new FakeConnectionManager();
    amqp.refuse = DRIFT();
    const subscription = new Subscription(amqp.manager, {
      queue: 'q',
      topology,
      prefetch: 8,
      recoveryDeadlineMs: DEADLINE_MS,
      log: capturedLog().log,
      metrics: testMetrics(),
      onMessage: () => undefined,
    });
    await advance(DEADLINE_MS - 50);
    assert.equal(subscription.healthy, true);
    await advance(100);
    assert.equal(subscription.healthy, false);
    await subscription.close();
  });
});
