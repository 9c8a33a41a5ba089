import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { RECOVERY_FIRST_DELAY_MS } from '../../shared/messaging/recovery-backoff';
import { advance, CONSUME_REFUSED, DEADLINE_MS, settle, subscribe } from './fakes/subscription-harness';

// Subscription paused (the kill switch): no broker consumer and no loss, one message at a time by basic.get, a lost
// channel replaced without consuming, and resume back to the full prefetch.
describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('pause cancels the broker consumer and is no loss; resume consumes again at the full prefetch', async () => {
    const { subscription, channel, recoveries, up } = subscribe();
    await subscription.ready();
    await subscription.pause();
    assert.ok(channel().calls.includes('cancel ctag-1'));
    assert.equal(subscription.consuming, false);
    await advance(DEADLINE_MS * 5);
    assert.equal(subscription.healthy, true);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1, 'a pause is not recovered from');
    await subscription.resume();
    assert.equal(subscription.consuming, true);
    assert.deepEqual(channel().calls.slice(-2), ['prefetch 8', 'consume q']);
    assert.equal(await recoveries(), 0);
    assert.equal(await up(), 1);
    await subscription.close();
  });

  it('paused, it takes one message by basic.get with a manual ack, and none once its channel is gone', async () => {
    const { subscription, channel } = subscribe();
    await subscription.ready();
    await subscription.pause();
    assert.equal(await subscription.getOne(), undefined, 'an empty queue');
    const broker = channel();
    const options: unknown[] = [];
    const get = broker.get.bind(broker);
    broker.get = (queue: string, opts?: unknown) => (options.push(opts), get(queue));
    broker.waiting.set('q', [{ content: Buffer.from('{"a":1}'), props: {} }]);
    const got = await subscription.getOne();
    assert.equal(got?.msg.content.toString(), '{"a":1}');
    assert.deepEqual(options, [{ noAck: false }]);
    got!.acks.track(got!.msg);
    got!.acks.ack(got!.msg);
    got!.acks.flush();
    assert.deepEqual(broker.frames, [`ack ${got!.msg.fields.deliveryTag} multiple`], 'acked on the channel it came from');
    broker.waiting.set('q', [{ content: Buffer.from('{}'), props: {} }]);
    broker.closeByBroker();
    assert.equal(await subscription.getOne(), undefined, 'no channel, no message');
    await subscription.close();
  });

  it('a channel lost while paused is replaced, and stays paused: nothing consumes until resume', async () => {
    const { subscription, channel, up, recoveries } = subscribe();
    await subscription.ready();
    await subscription.pause();
    const old = channel();
    old.closeByBroker();
    assert.equal(await up(), 0);
    await advance(RECOVERY_FIRST_DELAY_MS);
    assert.notEqual(channel(), old, 'a new channel, for the probe to get on');
    assert.ok(!channel().calls.includes('consume q'), 'still paused');
    assert.equal(await up(), 1, 'its channel is back');
    assert.equal(await recoveries(), 1);
    await advance(DEADLINE_MS * 5);
    assert.equal(subscription.healthy, true);
    await subscription.resume();
    assert.equal(subscription.consuming, true);
    await subscription.close();
  });

  it('resume on a channel that refuses the consumer recovers by itself', async () => {
    const { subscription, channel, said } = subscribe();
    await subscription.ready();
    await subscription.pause();
    channel().refuseConsume = CONSUME_REFUSED();
    await subscription.resume();
    assert.match(String(said('recovering')[0]?.msg), /subscribe failed: .*ACCESS-REFUSED/);
    await advance(5000);
    assert.equal(subscription.consuming, true, 'on a new channel');
    await subscription.close();
  });

  it('resume while consuming adds no second consumer; resume while its channel is replaced waits for the new one', async () => {
    const { subscription, channel, said } = subscribe();
    await subscription.ready();
    await settle();
    await subscription.resume();
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    await subscription.pause();
    const old = channel();
    old.closeByBroker();
    await subscription.resume();
    assert.equal(said('subscribe failed').length, 0, 'nothing to subscribe on yet: not a failure');
    await advance(RECOVERY_FIRST_DELAY_MS);
    assert.notEqual(channel(), old);
    assert.equal(subscription.consuming, true);
    assert.equal(channel().calls.filter((c) => c === 'consume q').length, 1);
    await subscription.close();
  });
});
