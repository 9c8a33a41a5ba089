import assert from 'node:assert/strict';
import { assertBrokersSawNoViolation, eventProps, startConsumer } from './fakes/consumer-harness';
import { body, paymentDeclined, sleep, until, valueOf } from './fakes/fixtures';

// A handler that returns settles its delivery with an ack and nothing else: the success half of "a handler only
// returns or throws": the consumer, not the handler, acks.
describe('Consumer (fake broker)', () => {
  afterEach(assertBrokersSawNoViolation);

  it('acks a delivery once its handler returns, and publishes nothing', async () => {
    let release!: () => void;
    const seen: string[] = [];
    const { deliver, broker, copies, metrics } = await startConsumer({
      PaymentDeclined: async (ctx) => {
        seen.push(`${ctx.event.orderId} attempt ${ctx.attempt}`);
        await new Promise<void>((r) => (release = r));
      },
    });
    const event = paymentDeclined('o-1');
    const msg = deliver(body(event), eventProps(event));
    await until('the handler', () => seen.length === 1);
    await sleep(15);
    assert.equal(broker.settlement(msg), undefined, 'not acked while the handler runs');
    release();
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.deepEqual(seen, ['o-1 attempt 1']);
    assert.equal(copies.published.length, 0);
    assert.equal(await valueOf(metrics.consumed, { queue: 'q', event_type: 'PaymentDeclined', outcome: 'ack' }), 1);
  });

  it("acks a handler's 'duplicate' outcome and counts it as a duplicate, not as handled", async () => {
    const { deliver, broker, copies, metrics } = await startConsumer({ PaymentDeclined: async () => 'duplicate' });
    const event = paymentDeclined();
    const msg = deliver(body(event), eventProps(event));
    await until('the ack', () => broker.settlement(msg) === 'ack');
    assert.equal(copies.published.length, 0);
    assert.equal(await valueOf(metrics.consumed, { queue: 'q', event_type: 'PaymentDeclined', outcome: 'duplicate' }), 1);
    assert.equal(await valueOf(metrics.consumed, { outcome: 'ack' }), 0);
  });
});
