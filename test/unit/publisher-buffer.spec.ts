import assert from 'node:assert/strict';
import { until, valueOf } from './fakes/fixtures';
import { bytes, isPublishError, watch } from './fakes/publish-outcomes';
import { publisherWith } from './fakes/publisher-harness';

// The publisher's buffer of unconfirmed messages is bounded by count and by bytes: past either, a publish is refused
// (buffer_full) without being sent, and a slot frees once a confirm comes.
describe('Publisher (fake broker)', () => {
  it('refuses a publish past the buffer count with PublishError(buffer_full), without sending it', async () => {
    const { publisher, broker, metrics } = await publisherWith({ bufferLimit: 2 });
    broker.confirm = 'never';
    const first = watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-1' }));
    watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-2' }));
    await assert.rejects(
      publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-3' }),
      isPublishError('buffer_full', /2 messages/),
    );
    await until('two publishes', () => broker.published.length === 2);
    assert.equal(await valueOf(metrics.publishBuffer), 2);
    assert.equal(await valueOf(metrics.published, { outcome: 'buffer_full' }), 1);
    broker.published[0]!.settle('ack');
    await until('the first confirm', () => first.outcome === 'resolved');
    watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'm-4' }));
    await until('a slot to free up', () => broker.published.length === 3);
    assert.deepEqual(
      broker.published.map((p) => p.options.messageId),
      ['m-1', 'm-2', 'm-4'],
    );
  });

  it('refuses a publish past the byte bound, but always lets one through when nothing is pending', async () => {
    const { publisher, broker } = await publisherWith({ bufferBytes: 100 });
    broker.confirm = 'never';
    const big = watch(publisher.publish('test.events', 'k', bytes(150), { messageId: 'big' }));
    await assert.rejects(
      publisher.publish('test.events', 'k', bytes(10), { messageId: 'small' }),
      isPublishError('buffer_full', /150 bytes/),
    );
    await until('the big publish', () => broker.published.length === 1);
    broker.published[0]!.settle('ack');
    await until('its confirm', () => big.outcome === 'resolved');
    watch(publisher.publish('test.events', 'k', bytes(60), { messageId: 'a' }));
    watch(publisher.publish('test.events', 'k', bytes(40), { messageId: 'b' }));
    await assert.rejects(publisher.publish('test.events', 'k', bytes(1), { messageId: 'c' }), isPublishError('buffer_full', /bytes/));
    assert.equal(publisher.depth, 2);
  });
});
