import assert from 'node:assert/strict';
import { routingKeyOf, type AnyEvent } from '../../shared/events/catalog';
import { paymentDeclined } from './fakes/fixtures';
import { publisherWith } from './fakes/publisher-harness';

// An event published as a message: its routing key, and AMQP properties mirroring its metadata.
describe('Publisher (fake broker)', () => {
  it('publishes an event under its routing key, with properties mirroring its metadata', async () => {
    const { publisher, broker } = await publisherWith();
    const event = paymentDeclined('o-7');
    await publisher.publishEvent(event, { traceparent: 'tp' });
    const [sent] = broker.published;
    assert.equal(sent!.routingKey, routingKeyOf('PaymentDeclined'));
    assert.deepEqual(JSON.parse(sent!.content.toString()), event);
    assert.equal(sent!.options.messageId, event.eventId);
    assert.equal(sent!.options.type, 'PaymentDeclined');
    assert.equal(sent!.options.correlationId, 'o-7');
    assert.deepEqual(sent!.options.headers, { traceparent: 'tp' });
  });

  it("stamps an event's message with its timestamp in seconds, as AMQP counts them", async () => {
    const { publisher, broker } = await publisherWith();
    const event = { ...paymentDeclined(), timestamp: '2026-01-01T00:00:01.900Z' } as AnyEvent;
    await publisher.publishEvent(event);
    assert.equal(broker.published[0]!.options.timestamp, Date.parse('2026-01-01T00:00:01Z') / 1000);
  });
});
