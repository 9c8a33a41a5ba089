import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { advance, CONSUME_REFUSED, subscribe } from './fakes/subscription-harness';

// Subscription after a loss (a broker cancel, a closed channel): it subscribes again after a delay that grows with
// each failed attempt, counts each recovery, and stops trying once it consumes.
describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('after a broker cancel, subscribes again once the first recovery delay has passed, and counts the recovery', async () => {
    const { subscription, channel, up, recoveries, said } = subscribe();
    await subscription.ready();
    channel().cancelByBroker('q');
    assert.equal(subscription.consuming, false);
    assert.equal(await up(), 0);
    assert.match(String(said('recovering')[0]?.msg), /consumer cancelled by the broker/);
    await advance(RECOVERY_FIRST_DELAY_MS - 1);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1, 'not before the delay');
    await advance(1);
    assert.equal(subscription.consuming, true);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 2);
    assert.equal(await up(), 1);
    assert.equal(await recoveries(), 1);
    assert.equal(said('consumer recovered')[0]?.downMs, RECOVERY_FIRST_DELAY_MS);
    await subscription.close();
  });

  it('after the broker closed its channel, replaces the channel wrapper; a late close of the old channel changes nothing', async () => {
    const { subscription, amqp, channel, recoveries, said } = subscribe();
    await subscription.ready();
    const old = channel();
    const oldWrapper = amqp.wrappers.get('consumer:q')!;
    old.closeByBroker();
    assert.match(String(said('recovering')[0]?.msg), /consumer channel closed/);
    await advance(RECOVERY_FIRST_DELAY_MS);
    assert.notEqual(channel(), old);
    assert.equal(oldWrapper.closed, true);
    assert.equal(subscription.consuming, true);
    old.emit('close');
    await advance(RECOVERY_FIRST_DELAY_MS * 4);
    assert.equal(subscription.consuming, true, 'the close of a channel it no longer uses is not a loss');
    assert.equal(await recoveries(), 1);
    assert.equal(said('recovering').length, 1);
    await subscription.close();
  });

  it('waits longer after each failed attempt', async () => {
    const { subscription, amqp, channel } = subscribe();
    await subscription.ready();
    amqp.refuseConsume = CONSUME_REFUSED();
    channel().closeByBroker();
    const attempts: number[] = [];
    let before = channel();
    for (let t = 0; t < 1750; t += 50) {
      await advance(50);
      if (channel() !== before) attempts.push(t + 50);
      before = channel();
    }
    // Each failed attempt's new channel is closed by the refusal at once, so each delay shows as one replacement.
    assert.deepEqual(attempts, [250, 750, 1750]);
    amqp.refuseConsume = undefined;
    await subscription.close();
  });

  it('recovers from every loss, not only the first, and stops trying once it consumes', async () => {
    const { subscription, channel, recoveries } = subscribe();
    await subscription.ready();
    for (const loss of [1, 2, 3]) {
      channel().cancelByBroker('q');
      await advance(RECOVERY_FIRST_DELAY_MS);
      assert.equal(subscription.consuming, true, `loss ${loss}`);
    }
    assert.equal(await recoveries(), 3);
    const calls = channel().calls.length;
    await advance(30_000);
    assert.equal(channel().calls.length, calls, 'no look, no declaration once it consumes');
    await subscription.close();
  });
});
