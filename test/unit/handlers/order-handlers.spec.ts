import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { AnyEvent, EventType, PayloadOf } from '../../../shared/events/catalog';
import type { EventHandler, HandlerOutcome } from '../../../shared/messaging/context';
import { onOrderPlaced, outcomeHandlers } from '../../../workers/order/handlers/outcome-handlers';
import { createOrderMetrics } from '../../../workers/order/order-metrics';
import { DeadlineSweep } from '../../../workers/order/outbox/deadline-sweep';
import { OutboxPublisher } from '../../../workers/order/outbox/outbox-publisher';
import { OutboxRelay } from '../../../workers/order/outbox/outbox-relay';
import { SagaRunner, UnknownOrderError } from '../../../workers/order/saga-runner';
// Its declaration lists the order events, so importing it registers those the saga publishes.
import { ORDER_QUEUE } from '../../../workers/order/service';
import { MemoryOrderStore } from '../../../workers/order/store/memory-order-store';
import { eventLiteral, newOrderId, orderPlaced } from '../fakes/event-literals';
import type { FakeChannel } from '../fakes/fake-channel';
import { quietLog } from '../fakes/fixtures';
import { publisherWith } from '../fakes/publisher-harness';
import { recordingContext } from '../fakes/recording-context';

/** An event as it reached the exchange. */
interface Sent {
  eventType: EventType;
  eventId: string;
  causationId?: string;
  reason?: string;
  items?: unknown;
}
type Outcome = 'InventoryReserved' | 'InventoryRejected' | 'InventoryReleased' | 'PaymentCaptured' | 'PaymentDeclined' | 'PaymentRefunded';
const LINES = [{ productId: 'P1', quantity: 2 }];

/**
 * The order saga as its handlers drive it, on the order store in memory (the same answers as Redis: the conformance
 * suite holds both to them) and a real publisher on the fake broker: which outcomes confirm or cancel an order, what
 * is published for the other services to compensate, and what the store keeps (the order, its clock, its outbox).
 */
describe('order handlers on the in-memory order store', () => {
  let store: MemoryOrderStore;
  let runner: SagaRunner;
  let broker: FakeChannel;
  let orderId: string;
  const metrics = createOrderMetrics(new Registry());
  beforeEach(async () => {
    store = new MemoryOrderStore();
    const harness = await publisherWith();
    broker = harness.broker;
    runner = new SagaRunner(store, new OutboxPublisher(store, harness.publisher, quietLog), metrics, quietLog);
    orderId = newOrderId();
  });

  async function handle<E extends AnyEvent>(handler: EventHandler<E>, event: E): Promise<HandlerOutcome | void> {
    return handler(recordingContext(event, ORDER_QUEUE).ctx);
  }
  /** Places the order as if seen on the bus, due `timeoutMs` from now. */
  const place = (timeoutMs = 60_000) => handle(onOrderPlaced(store, runner, metrics, timeoutMs), orderPlaced({ orderId, items: LINES }));
  function outcome<T extends Outcome>(eventType: T, fields: Omit<PayloadOf<T>, 'orderId'> = {} as never) {
    const event = eventLiteral(eventType, { orderId, ...fields } as PayloadOf<T>);
    return { event, handled: handle(outcomeHandlers(runner)[eventType] as EventHandler, event as AnyEvent) };
  }
  const reserved = () => outcome('InventoryReserved', { items: LINES }).handled;
  const rejected = () => outcome('InventoryRejected', { reason: 'OUT_OF_STOCK', productId: 'P1' }).handled;
  const captured = () => outcome('PaymentCaptured', { amount: 150, currency: 'USD', paymentId: 'ch_1' }).handled;
  const declined = () => outcome('PaymentDeclined', { reason: 'CARD_DECLINED' }).handled;
  /** What reached the exchange, in order. */
  const sent = () => broker.published.map((p) => JSON.parse(p.content.toString()) as Sent);
  const stored = async () => (await store.get(orderId))!.order;

  it('adopts an order placed on the bus: stored PENDING, on the clock, nothing published', async () => {
    await place();
    await place();
    const order = await stored();
    assert.deepEqual([order.status, order.inventory, order.payment], ['PENDING', 'PENDING', 'PENDING']);
    assert.deepEqual([await store.openOrders(), await store.outboxDepth(), sent()], [1, 0, []]);
  });

  it('confirms an order once it is reserved and captured, in either order, and publishes OrderConfirmed once', async () => {
    for (const [first, second] of [
      [reserved, captured],
      [captured, reserved],
    ]) {
      orderId = newOrderId();
      await place();
      assert.equal(await first!(), 'done');
      assert.deepEqual(
        sent().filter((e) => e.eventId.endsWith(orderId)),
        [],
        'one leg is not enough',
      );
      assert.equal(await second!(), 'done');
      assert.equal((await stored()).status, 'CONFIRMED');
    }
    assert.deepEqual(
      sent().map((e) => e.eventType),
      ['OrderConfirmed', 'OrderConfirmed'],
    );
    assert.equal(sent()[1]!.eventId, `OrderConfirmed:${orderId}`);
    await store.drainRemovals();
    assert.deepEqual([await store.openOrders(), await store.outboxDepth()], [0, 0], 'off the clock, the outbox emptied');
  });

  it('cancels a rejected order (OUT_OF_STOCK) and publishes OrderCancelled for payment to compensate', async () => {
    await place();
    await captured();
    const { event, handled } = outcome('InventoryRejected', { reason: 'OUT_OF_STOCK', productId: 'P1' });
    assert.equal(await handled, 'done');
    const order = await stored();
    assert.deepEqual([order.status, order.reason], ['CANCELLED', 'OUT_OF_STOCK']);
    const { eventType, eventId, causationId, reason, items } = sent()[0]!;
    assert.deepEqual(
      { eventType, eventId, causationId, reason, items },
      {
        eventType: 'OrderCancelled',
        eventId: `OrderCancelled:${orderId}`,
        causationId: event.eventId,
        reason: 'OUT_OF_STOCK',
        items: LINES,
      },
    );
    assert.equal(await store.openOrders(), 0);
  });

  it('cancels a declined order (PAYMENT_DECLINED) and publishes OrderCancelled for inventory to release', async () => {
    await place();
    await reserved();
    await declined();
    assert.deepEqual([(await stored()).status, (await stored()).reason], ['CANCELLED', 'PAYMENT_DECLINED']);
    assert.deepEqual(
      sent().map((e) => [e.eventType, e.reason, e.eventId]),
      [['OrderCancelled', 'PAYMENT_DECLINED', `OrderCancelled:${orderId}`]],
    );
  });

  it('records the outcomes after the end and the compensations, publishing nothing more', async () => {
    await place();
    await rejected();
    assert.equal(await captured(), 'done');
    assert.equal(await outcome('PaymentRefunded', { amount: 150, currency: 'USD', paymentId: 'ch_1' }).handled, 'done');
    const order = await stored();
    assert.deepEqual([order.status, order.inventory, order.payment], ['CANCELLED', 'REJECTED', 'REFUNDED']);
    assert.deepEqual(
      sent().map((e) => e.eventType),
      ['OrderCancelled'],
    );
  });

  it('counts a repeated outcome as a duplicate: nothing stored, nothing published', async () => {
    await place();
    await reserved();
    const version = (await store.get(orderId))!.version;
    assert.equal(await reserved(), 'duplicate');
    assert.equal((await store.get(orderId))!.version, version);
    await captured();
    assert.equal(await captured(), 'duplicate');
    assert.equal(await declined(), 'duplicate', 'a decline after the capture changes nothing');
    assert.deepEqual(
      sent().map((e) => e.eventType),
      ['OrderConfirmed'],
    );
  });

  it('throws UnknownOrderError (transient, retried) for an outcome of an order not stored yet', async () => {
    await assert.rejects(reserved(), UnknownOrderError);
    assert.deepEqual(sent(), []);
  });

  it('keeps an event the broker refused in the outbox, and the relay publishes it', async () => {
    await place();
    await reserved();
    broker.confirm = 'nack';
    await captured();
    assert.equal((await stored()).status, 'CONFIRMED');
    const pending = await store.pendingOutbox(Date.now(), 10);
    assert.deepEqual(
      pending.map((e) => e.event.eventType),
      ['OrderConfirmed'],
    );
    broker.confirm = 'ack';
    await new OutboxRelay(store, runner.outbox, metrics, quietLog, { graceMs: 0, batch: 10 }).tick();
    await store.drainRemovals();
    assert.equal(await store.outboxDepth(), 0);
    assert.deepEqual(
      sent().map((e) => e.eventType),
      ['OrderConfirmed', 'OrderConfirmed'],
      'refused once, then published by the relay',
    );
  });

  it('cancels an order past its deadline (TIMEOUT) from the sweep, publishing OrderCancelled', async () => {
    await place(-1000);
    await reserved();
    await new DeadlineSweep(store, runner, metrics, quietLog, { batch: 10 }).tick();
    assert.deepEqual([(await stored()).status, (await stored()).reason], ['CANCELLED', 'TIMEOUT']);
    assert.deepEqual(
      sent().map((e) => [e.eventType, e.reason]),
      [['OrderCancelled', 'TIMEOUT']],
    );
    assert.equal(await store.openOrders(), 0);
  });
});
