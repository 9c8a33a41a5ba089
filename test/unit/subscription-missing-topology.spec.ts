import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { planTopology } from '../../shared/messaging/topology';
import { FakeChannel } from './fakes/fake-channel';
import { ACCESS_REFUSED, advance, DEADLINE_MS, lookOver, subscribe, topology } from './fakes/subscription-harness';

// Subscription whose topology is missing and may not be declared by it: it waits for the operator, healthy, names
// what it misses, and consumes once it is there, because a restart would not declare it either.
describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('stays healthy past its deadline while its deleted queue may not be declared, and consumes once it is back', async () => {
    const broker = new FakeChannel();
    const refuse: { now?: Error } = {};
    const look = lookOver(broker, refuse);
    const { subscription, channel } = subscribe({ look });
    await subscription.ready();
    assert.deepEqual(look.missing.list(), []);
    // The operator's queue is deleted; this service's user may not declare it.
    refuse.now = ACCESS_REFUSED();
    broker.queues.delete('q');
    channel().cancelByBroker('q');
    await advance(DEADLINE_MS * 10);
    assert.equal(subscription.consuming, false);
    assert.deepEqual(look.missing.list(), ['queue q']);
    assert.equal(subscription.healthy, true, 'a restart would not declare it: liveness stays green');
    // The operator declares it again.
    for (const d of planTopology(topology)) broker.queues.add(d.name);
    await advance(5000);
    assert.equal(subscription.consuming, true);
    assert.deepEqual(look.missing.list(), []);
    await subscription.close();
  });

  it('with its topology missing at start, waits for the operator without a restart, then consumes', async () => {
    const broker = new FakeChannel();
    const refuse: { now?: Error } = { now: ACCESS_REFUSED() };
    const look = lookOver(broker, refuse);
    const { subscription, said } = subscribe({ look });
    let ready = false;
    const started = subscription.ready().then(() => (ready = true));
    await advance(DEADLINE_MS * 10);
    assert.equal(ready, false);
    assert.equal(subscription.healthy, true);
    assert.match(String(said('recovering')[0]?.msg), /topology missing: queue q, /);
    refuse.now = undefined;
    await advance(5000);
    await started;
    assert.equal(ready, true);
    assert.equal(subscription.consuming, true);
    await subscription.close();
  });

  it('two consumers sharing one report each name what they miss', async () => {
    const broker = new FakeChannel();
    const look = lookOver(broker, { now: ACCESS_REFUSED() });
    broker.exchanges.add('test.events').add('q.failures').add('other.failures');
    const first = subscribe({ look });
    const second = subscribe({ look, queue: 'other' });
    await advance(50);
    assert.deepEqual(look.missing.list(), [
      'queue other',
      'queue other.dlq',
      'queue other.retry.10',
      'queue q',
      'queue q.dlq',
      'queue q.retry.10',
    ]);
    await first.subscription.close();
    await second.subscription.close();
  });
});
