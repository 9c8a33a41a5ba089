import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { FakeChannel } from './fakes/fake-channel';
import { advance, DEADLINE_MS, settle, subscribe } from './fakes/subscription-harness';

// Subscription stopping: a pause or stop racing basic.consume takes the consumer back off, and once stopping no
// loss starts a recovery or opens a channel.
describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  for (const how of ['pause', 'stop'] as const) {
    it(`a ${how} that comes while basic.consume is on the wire takes the consumer back off`, async () => {
      const { subscription, channel, up } = subscribe();
      const broker = channel();
      let answer!: () => void;
      const consume = broker.consume.bind(broker);
      broker.consume = (...args: Parameters<FakeChannel['consume']>) =>
        new Promise((resolve) => (answer = () => resolve(consume(...args))));
      await settle();
      assert.equal(typeof answer, 'function', 'consume is on the wire');
      if (how === 'pause') await subscription.pause();
      else subscription.stop();
      answer();
      await settle();
      assert.ok(broker.calls.includes('cancel ctag-1'), broker.calls.join(', '));
      assert.equal(subscription.consuming, false);
      assert.equal(await up(), 0, 'never reported up');
      await subscription.close();
    });
  }

  it('once stopping, a broker cancel starts no recovery', async () => {
    const { subscription, channel, said } = subscribe();
    await subscription.ready();
    subscription.stop();
    assert.equal(subscription.consuming, false);
    channel().cancelByBroker('q');
    await advance(DEADLINE_MS * 5);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    assert.equal(said('recovering').length, 0);
    await subscription.close();
  });

  it('a stop during the recovery delay ends the recovery without another subscribe', async () => {
    const { subscription, channel } = subscribe();
    await subscription.ready();
    channel().cancelByBroker('q');
    await advance(RECOVERY_FIRST_DELAY_MS - 1);
    subscription.stop();
    await advance(DEADLINE_MS * 5);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    assert.ok(!channel().calls.some((c) => c.startsWith('cancel')));
  });

  it('a stop while a closed channel waits to be replaced opens no new channel', async () => {
    const { subscription, channel, amqp } = subscribe();
    await subscription.ready();
    const old = channel();
    old.closeByBroker();
    await advance(RECOVERY_FIRST_DELAY_MS - 50);
    await subscription.close();
    await advance(DEADLINE_MS * 5);
    assert.equal(channel(), old);
    assert.equal(amqp.wrappers.size, 1);
  });
});
