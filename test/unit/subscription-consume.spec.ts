import assert from 'node:assert/strict';
import { mock } from 'node:test';
import { subscribe } from './fakes/subscription-harness';

// Subscription in steady state: down until it consumes, its own queue only at its prefetch, each delivery handed
// on with its channel's ack batcher, and a closed channel or channel error logged, never thrown.
describe('Subscription (fake broker, mocked clock)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 }));
  afterEach(() => mock.timers.reset());

  it('reports down until it consumes, then consumes its own queue only, with manual acks at its prefetch', async () => {
    const { subscription, amqp, up, channel, said, metrics } = subscribe();
    const series = (await metrics.consumerUp.get()).values.filter((v) => v.labels.queue === 'q');
    assert.deepEqual(
      series.map((v) => v.value),
      [0],
      'a consumer that never comes up shows as 0, not as no series at all (an alert on 0 must see it)',
    );
    assert.equal(subscription.consuming, false);
    await subscription.ready();
    assert.equal(subscription.consuming, true);
    assert.equal(await up(), 1);
    const wrapper = amqp.wrappers.get('consumer:q')!;
    assert.equal(wrapper.options.confirm, false, 'a consumer channel publishes nothing to confirm');
    const calls = channel().calls;
    assert.ok(calls.includes('assertQueue q'));
    assert.ok(!calls.some((c) => c.includes('other')), `nothing of another queue's topology: ${calls.join(', ')}`);
    assert.deepEqual(calls.slice(-2), ['prefetch 8', 'consume q'], 'not noAck');
    assert.equal(said('consuming')[0]?.prefetch, 8);
    assert.equal(subscription.healthy, true);
    await subscription.close();
  });

  it("hands each delivery to onMessage with its channel's ack batcher, whose acks reach the broker on close", async () => {
    const { subscription, received, channel, up, amqp } = subscribe();
    await subscription.ready();
    const msg = channel().deliver('q', Buffer.from('{}'));
    assert.equal(received.length, 1);
    assert.equal(received[0]!.msg, msg);
    received[0]!.acks.track(msg);
    received[0]!.acks.ack(msg);
    channel().deliver('q', Buffer.from('{}'));
    await subscription.close();
    assert.deepEqual(channel().frames, [`ack ${msg.fields.deliveryTag} multiple`], 'the batched ack is sent before the channel closes');
    assert.equal(await up(), 0);
    assert.equal(amqp.wrappers.get('consumer:q')!.closed, true);
    assert.equal(subscription.consuming, false);
  });

  it('logs an ack on a closed channel at debug and drops it: the broker redelivers', async () => {
    const { subscription, received, channel, said } = subscribe();
    await subscription.ready();
    const msg = channel().deliver('q', Buffer.from('{}'));
    channel().ack = () => {
      throw new Error('Channel closed');
    };
    received[0]!.acks.track(msg);
    received[0]!.acks.ack(msg);
    received[0]!.acks.flush();
    assert.equal(said('settle on a closed channel')[0]?.err, 'Channel closed');
    await subscription.close();
  });

  it('logs a channel error instead of throwing it', async () => {
    const { subscription, amqp, said } = subscribe();
    await subscription.ready();
    amqp.wrappers.get('consumer:q')!.emit('error', new Error('PRECONDITION_FAILED'));
    assert.equal(said('consumer channel error')[0]?.err, 'PRECONDITION_FAILED');
    await subscription.close();
  });
});
