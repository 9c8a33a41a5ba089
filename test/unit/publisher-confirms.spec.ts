import assert from 'node:assert/strict';
import { sleep, until, valueOf } from './fakes/fixtures';
import { bytes, isPublishError, watch } from './fakes/publish-outcomes';
import { publisherWith } from './fakes/publisher-harness';

const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

// A publish settles only by the broker's answer: resolved on its confirm, a PublishError on a nack, a return or its own
// deadline (each publish its own), with the confirm's latency measured and no timer left behind.
describe('Publisher (fake broker)', () => {
  it('resolves only once the broker confirms, with a persistent, mandatory message', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'never';
    const state = watch(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1', type: 'PaymentDeclined' }));
    await until('the publish', () => broker.published.length === 1);
    await sleep(10);
    assert.equal(state.outcome, 'pending', 'no confirm, no resolve');
    assert.equal(publisher.depth, 1);
    broker.published[0]!.settle('ack');
    await until('the confirm', () => state.outcome !== 'pending');
    assert.equal(state.outcome, 'resolved');
    const { options } = broker.published[0]!;
    assert.deepEqual(
      {
        persistent: options.persistent,
        mandatory: options.mandatory,
        contentType: options.contentType,
        appId: options.appId,
        messageId: options.messageId,
      },
      { persistent: true, mandatory: true, contentType: 'application/json', appId: 'test-app', messageId: 'm-1' },
    );
    assert.equal('timeout' in options, false, 'the wrapper option is not an AMQP property');
    assert.equal(publisher.depth, 0);
    assert.equal(await valueOf(metrics.published, { outcome: 'confirmed', event_type: 'PaymentDeclined' }), 1);
  });

  it('rejects with PublishError(nacked) when the broker nacks', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'nack';
    await assert.rejects(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }), isPublishError('nacked', /message nacked/));
    assert.equal(await valueOf(metrics.published, { outcome: 'nacked' }), 1);
    assert.equal(publisher.depth, 0);
  });

  it('rejects with PublishError(returned) when the broker returns a mandatory message, although it confirms it', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = (p) => (p.options.messageId === 'lost' ? 'return' : 'ack');
    await assert.rejects(
      publisher.publish('test.events', 'nowhere', bytes(3), { messageId: 'lost' }),
      isPublishError('returned', /unroutable.*nowhere/),
    );
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'found' });
    assert.equal(await valueOf(metrics.published, { outcome: 'returned' }), 1);
    assert.equal(await valueOf(metrics.published, { outcome: 'confirmed' }), 1);
  });

  it('rejects with PublishError(timeout) when no confirm comes in time, and frees its buffer slot', async () => {
    const { publisher, broker, metrics } = await publisherWith({ timeoutMs: 30 });
    broker.confirm = 'never';
    const started = Date.now();
    await assert.rejects(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }), isPublishError('timeout'));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 25 && elapsed < 500, `timed out after ${elapsed} ms`);
    assert.equal(publisher.depth, 0);
    assert.equal(await valueOf(metrics.published, { outcome: 'timeout' }), 1);
    assert.equal(await valueOf(metrics.publishBuffer), 0);
  });

  it('times each publish out at its own deadline, and ignores a confirm that comes after it', async () => {
    const { publisher, broker, metrics } = await publisherWith({ timeoutMs: 60 });
    broker.confirm = 'never';
    const first = watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'first' }));
    await sleep(40);
    const second = watch(publisher.publish('test.events', 'k', bytes(1), { messageId: 'second' }));
    await until('the first deadline', () => first.outcome !== 'pending');
    assert.equal(first.outcome, 'timeout');
    assert.equal(second.outcome, 'pending', 'the second has time left');
    broker.published[1]!.settle('ack');
    await until('the second confirm', () => second.outcome !== 'pending');
    assert.equal(second.outcome, 'resolved');
    broker.published[0]!.settle('ack'); // too late: already failed
    await sleep(10);
    assert.equal(first.outcome, 'timeout');
    assert.equal(publisher.depth, 0);
    assert.equal(await valueOf(metrics.published, { outcome: 'timeout' }), 1);
    assert.equal(await valueOf(metrics.published, { outcome: 'confirmed' }), 1);
  });

  it('measures how long the broker took to confirm', async () => {
    const { publisher, broker, metrics } = await publisherWith();
    broker.confirm = 'never';
    const publishing = publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    await until('the publish', () => broker.published.length === 1);
    await sleep(30);
    broker.published[0]!.settle('ack');
    await publishing;
    const { values } = await metrics.publishConfirmSeconds.get();
    const sum = values.find((v) => v.metricName?.endsWith('_sum') && v.labels['routing_key'] === 'k')?.value ?? 0;
    assert.ok(sum >= 0.025 && sum < 5, `a confirm after 30 ms measured as ${sum} s`);
  });

  it('remembers a return only for the publish it answered: the same message published again is confirmed', async () => {
    const { publisher, broker } = await publisherWith();
    broker.confirm = 'never';
    const first = watch(publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' }));
    await until('the publish', () => broker.published.length === 1);
    broker.emit('return', { content: bytes(3), fields: { routingKey: 'k' }, properties: { messageId: 'm-1' } });
    broker.published[0]!.settle('nack');
    await until('the nack', () => first.outcome !== 'pending');
    assert.equal(first.outcome, 'nacked');
    broker.confirm = 'ack';
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
  });

  it('leaves no timer behind once every publish is confirmed', async () => {
    const { publisher } = await publisherWith({ timeoutMs: 60_000 });
    await new Promise(setImmediate); // mocha arms its own test timer after the test starts
    const before = timers();
    await publisher.publish('test.events', 'k', bytes(3), { messageId: 'm-1' });
    assert.equal(timers(), before);
  });

  it('times out every unconfirmed publish at its own deadline, the later ones after the first expired', async () => {
    const { publisher, broker } = await publisherWith({ timeoutMs: 40 });
    broker.confirm = 'never';
    const started = Date.now();
    const ended: number[] = [];
    const timedOut = () => ended.push(Date.now() - started);
    void publisher.publish('test.events', 'k', bytes(1), { messageId: 'first' }).catch(timedOut);
    await sleep(20);
    void publisher.publish('test.events', 'k', bytes(1), { messageId: 'second' }).catch(timedOut);
    await until('both timeouts', () => ended.length === 2, 1000);
    assert.ok(ended[1]! < 1000, `the second timed out after ${ended[1]} ms`);
  });
});
