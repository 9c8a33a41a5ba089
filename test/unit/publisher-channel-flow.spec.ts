import assert from 'node:assert/strict';
import { PublishError } from '../../shared/errors/errors';
import { bytes } from './fakes/publish-outcomes';
import { publisherWith } from './fakes/publisher-harness';

// How a publish reaches the broker: straight onto the open channel, through the manager's queue while the socket is
// full or the channel closed, and published again when a confirm is lost with its channel.
describe('Publisher (fake broker)', () => {
  it('publishes again when a confirm is lost to a closed channel, and resolves on the next confirm', async () => {
    const { publisher, broker } = await publisherWith();
    let publishes = 0;
    broker.confirm = () => (++publishes === 1 ? 'closed' : 'ack');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['m-1', 'm-1'],
    );
  });

  it('publishes straight onto the open channel; while its socket is full, through the manager’s queue until drain', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'direct' });
    assert.equal(wrapper.queued, 0, 'no detour through the manager while the channel has room');
    broker.socketFull = true;
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'fills-the-socket' });
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'queued' });
    assert.equal(wrapper.queued, 1, 'past the high-water mark, the next publish waits in the manager’s queue');
    broker.socketFull = false;
    broker.emit('drain');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'direct-again' });
    assert.equal(wrapper.queued, 1);
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['direct', 'fills-the-socket', 'queued', 'direct-again'],
    );
  });

  it('keeps publishing straight onto the channel after amqplib refuses one message it cannot encode', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.refusePublish = new TypeError('header value cannot be encoded');
    await assert.rejects(publisher.publish('test.events', 'k', bytes(3), { messageId: 'bad' }), PublishError);
    broker.refusePublish = undefined;
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'good' });
    assert.equal(wrapper.queued, 0, 'one bad message does not send the rest through the manager');
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['good'],
    );
  });

  it('takes the manager’s queue after amqplib refused a write on a channel closing under it, and publishes it there', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.refusePublish = new Error('Channel closed');
    const publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    broker.refusePublish = undefined;
    await publishing;
    assert.equal(wrapper.queued, 1, 'the retry waits in the manager’s queue, not on the dead channel');
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['m-1'],
    );
  });

  it('stops writing straight onto its channel once it closed, even if a drain comes after', async () => {
    const { publisher, broker, wrapper } = await publisherWith();
    broker.emit('close');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'after-close' });
    broker.emit('drain');
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'after-drain' });
    assert.equal(wrapper.queued, 2, 'both through the manager, which opens the next channel');
  });
});
