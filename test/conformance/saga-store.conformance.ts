import assert from 'node:assert/strict';
import type { AnyEvent } from '../../shared/events/catalog';
import { InvalidIdError } from '../../shared/redis/key-layout';
import { newOrder, type Order } from '../../workers/order/domain/order-saga';
import type { OutboxEntry, SagaStore } from '../../workers/order/store/saga-store';
import { freshId, type MakeStore } from './fresh-ids';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HOUR = 3_600_000;

function placed(customerId = 'c-1'): Order {
  const orderId = freshId('o');
  return newOrder({
    orderId,
    customerId,
    items: [{ productId: 'P1', quantity: 2 }],
    totalAmount: 30,
    currency: 'USD',
    createdAt: new Date().toISOString(),
  });
}

/** An outbox entry of `order`: a plain event, as the saga runner would have built it. */
function entryOf(order: Order, eventType: 'OrderConfirmed' | 'OrderCancelled' = 'OrderConfirmed'): OutboxEntry {
  const { orderId, items, totalAmount, currency } = order;
  const meta = { version: 1, eventId: freshId(eventType), orderId, correlationId: orderId, timestamp: new Date().toISOString() } as const;
  const event: AnyEvent =
    eventType === 'OrderConfirmed'
      ? { ...meta, eventType, items, totalAmount, currency }
      : { ...meta, eventType, reason: 'TIMEOUT', items };
  return { event, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
}

/**
 * What every {@link SagaStore} does, as the order service relies on it: a create that happens once (an
 * Idempotency-Key answered as first stored, a customer's limit enforced with nothing written), compare-and-set,
 * the saga's clock, and an outbox written with the change that caused it. Each test gets a store of its own (the
 * deadlines and the outbox are one structure per store). Run against Redis (test/integration/store-conformance.test.ts)
 * and memory (test/unit/stores/).
 */
export function sagaStoreConformance(makeStore: MakeStore<SagaStore>): void {
  let store: SagaStore;
  beforeEach(async () => {
    store = await makeStore();
  });
  afterEach(() => store.drainRemovals());

  it('stores a new order at version 1 with the trace context of its outbox entry; a second create is `exists`', async () => {
    const order = placed();
    const entry = entryOf(order);
    assert.deepEqual(await store.create(order, Date.now() + HOUR, entry), { kind: 'created' });
    assert.deepEqual(await store.get(order.orderId), { order, version: '1', traceparent: entry.traceparent });
    assert.deepEqual(await store.create({ ...order, totalAmount: 99 }, Date.now() + HOUR), { kind: 'exists' });
    assert.deepEqual(await store.get(order.orderId), { order, version: '1', traceparent: entry.traceparent });
  });

  it('hands out copies: changing an order read from it changes nothing stored', async () => {
    const order = placed();
    await store.create(order, Date.now() + HOUR);
    const read = (await store.get(order.orderId))!;
    read.order.status = 'CONFIRMED';
    read.order.items.push({ productId: 'P2', quantity: 1 });
    assert.deepEqual((await store.get(order.orderId))!.order, order);
  });

  it('answers a repeated Idempotency-Key with what it was stored with, before anything else, and writes nothing', async () => {
    const first = placed();
    const idempotency = { key: 'client key: any string', value: '{"orderId":"first"}', ttlMs: HOUR };
    await store.create(first, Date.now() + HOUR, undefined, idempotency);
    const other = placed();
    assert.deepEqual(await store.create(other, Date.now() + HOUR, undefined, idempotency), {
      kind: 'idempotent',
      stored: idempotency.value,
    });
    assert.deepEqual(await store.create(first, Date.now() + HOUR, undefined, idempotency), {
      kind: 'idempotent',
      stored: idempotency.value,
    });
    assert.equal(await store.get(other.orderId), undefined);
    assert.equal(await store.openOrders(), 1);
  });

  it('forgets an Idempotency-Key once its time is up', async () => {
    const idempotency = { key: freshId('key'), value: 'first', ttlMs: 30 };
    await store.create(placed(), Date.now() + HOUR, undefined, idempotency);
    await sleep(60);
    assert.deepEqual(await store.create(placed(), Date.now() + HOUR, undefined, { ...idempotency, value: 'second' }), { kind: 'created' });
  });

  it("refuses a customer's order beyond its limit, writing nothing; a retry of an accepted one and other customers pass", async () => {
    const limit = { customerId: 'c-busy', limit: 2, windowMs: HOUR };
    const idempotency = { key: freshId('key'), value: 'accepted', ttlMs: HOUR };
    await store.create(placed('c-busy'), Date.now() + HOUR, undefined, idempotency, limit);
    await store.create(placed('c-busy'), Date.now() + HOUR, undefined, undefined, limit);
    const refused = placed('c-busy');
    const result = await store.create(refused, Date.now() + HOUR, entryOf(refused), undefined, limit);
    assert.ok(result.kind === 'limited', result.kind);
    assert.deepEqual(result.rate, { limit: 2, windowMs: HOUR });
    assert.ok(result.retryAfterMs > 0 && result.retryAfterMs <= HOUR, String(result.retryAfterMs));
    assert.equal(await store.get(refused.orderId), undefined);
    assert.deepEqual([await store.openOrders(), await store.outboxDepth()], [2, 0]);
    assert.equal((await store.create(placed('c-busy'), Date.now() + HOUR, undefined, idempotency, limit)).kind, 'idempotent');
    assert.equal(
      (await store.create(placed('c-calm'), Date.now() + HOUR, undefined, undefined, { ...limit, customerId: 'c-calm' })).kind,
      'created',
    );
  });

  it("counts a customer's orders afresh once its window has closed", async () => {
    const limit = { customerId: 'c-1', limit: 1, windowMs: 50 };
    await store.create(placed(), Date.now() + HOUR, undefined, undefined, limit);
    assert.equal((await store.create(placed(), Date.now() + HOUR, undefined, undefined, limit)).kind, 'limited');
    await sleep(80);
    assert.equal((await store.create(placed(), Date.now() + HOUR, undefined, undefined, limit)).kind, 'created');
  });

  it('updates by compare-and-set: the expected version wins once, a stale one or an unknown order changes nothing', async () => {
    const order = placed();
    await store.create(order, Date.now() + HOUR);
    const next: Order = { ...order, inventory: 'RESERVED' };
    assert.equal(await store.update(next, '1', false, []), true);
    assert.equal(await store.update({ ...order, payment: 'DECLINED' }, '1', false, []), false);
    assert.deepEqual(await store.get(order.orderId), { order: next, version: '2' });
    assert.equal(await store.update(placed(), '1', false, []), false);
  });

  it('lets one of two writers of the same version through', async () => {
    const order = placed();
    await store.create(order, Date.now() + HOUR);
    const writes = await Promise.all([
      store.update({ ...order, inventory: 'RESERVED' }, '1', false, [entryOf(order)]),
      store.update({ ...order, payment: 'CAPTURED' }, '1', false, [entryOf(order)]),
    ]);
    assert.deepEqual(writes.sort(), [false, true]);
    assert.equal(await store.outboxDepth(), 1, 'only the winner queued its event');
  });

  it('writes outbox entries with their change; they are pending once old enough, and leave when removed', async () => {
    const before = Date.now() - 1;
    const order = placed();
    const first = entryOf(order);
    await store.create(order, Date.now() + HOUR, first);
    const more = [entryOf(order, 'OrderCancelled'), entryOf(order)];
    await store.update({ ...order, status: 'CANCELLED' }, '1', true, more);
    assert.equal(await store.outboxDepth(), 3);
    assert.deepEqual(await store.pendingOutbox(before, 10), [], 'written after `before`');
    const pending = await store.pendingOutbox(Date.now(), 10);
    assert.deepEqual(new Set(pending.map((e) => e.event.eventId)), new Set([first, ...more].map((e) => e.event.eventId)));
    assert.deepEqual(
      pending.find((e) => e.event.eventId === first.event.eventId),
      first,
    );
    assert.equal((await store.pendingOutbox(Date.now(), 2)).length, 2);
    store.removeFromOutbox(first.event.eventId);
    await store.drainRemovals();
    assert.deepEqual(
      (await store.pendingOutbox(Date.now(), 10)).map((e) => e.event.eventId).sort(),
      more.map((e) => e.event.eventId).sort(),
    );
    assert.equal(await store.outboxDepth(), 2);
  });

  it("keeps each open order's deadline, lists the due ones oldest first, and drops it when the order ends", async () => {
    const now = Date.now();
    const [late, later, future] = [placed(), placed(), placed()];
    await store.create(later, now - 1000);
    await store.create(late, now - 2000);
    await store.create(future, now + HOUR);
    assert.equal(await store.openOrders(), 3);
    assert.deepEqual(await store.dueDeadlines(now, 10), [late.orderId, later.orderId]);
    assert.deepEqual(await store.dueDeadlines(now, 1), [late.orderId]);
    await store.update(late, '1', false, []);
    assert.equal(await store.openOrders(), 3, 'an order still open keeps its deadline');
    await store.update({ ...late, status: 'CANCELLED' }, '2', true, []);
    await store.dropDeadline(later.orderId);
    assert.deepEqual([await store.dueDeadlines(now, 10), await store.openOrders()], [[], 1]);
  });

  it('postpones a deadline on the clock, and never puts an order on it', async () => {
    const now = Date.now();
    const order = placed();
    await store.create(order, now - 1000);
    await store.postponeDeadline(order.orderId, now + HOUR);
    assert.deepEqual(await store.dueDeadlines(now, 10), []);
    assert.deepEqual(await store.dueDeadlines(now + HOUR, 10), [order.orderId]);
    await store.dropDeadline(order.orderId);
    await store.postponeDeadline(order.orderId, now - 1);
    assert.deepEqual([await store.dueDeadlines(now + HOUR, 10), await store.openOrders()], [[], 0]);
  });

  it('parks an order on the clock once, keeping why; one off the clock is not parked', async () => {
    const order = placed();
    await store.create(order, Date.now() - 1000);
    assert.equal(await store.parkDeadline(order.orderId, 'its data cannot make an event'), true);
    assert.equal(await store.parkDeadline(order.orderId, 'again'), false);
    assert.deepEqual(await store.dueDeadlines(Date.now(), 10), []);
    const parked = await store.parkedOrders();
    assert.deepEqual(Object.keys(parked), [order.orderId]);
    const record = JSON.parse(parked[order.orderId]!) as { reason: string; at: string };
    assert.equal(record.reason, 'its data cannot make an event');
    assert.ok(Number.isFinite(Date.parse(record.at)), record.at);
    assert.equal(await store.parkDeadline(freshId('o'), 'never placed'), false);
  });

  it('knows no order whose id breaks the id rule, and never stores one (InvalidIdError)', async () => {
    assert.equal(await store.get('o:1'), undefined);
    assert.equal(await store.get('_deadlines'), undefined);
    await assert.rejects(store.create({ ...placed(), orderId: 'o:1' }, Date.now()), InvalidIdError);
    await assert.rejects(store.update({ ...placed(), orderId: '_parked' }, '1', false, []), InvalidIdError);
    assert.equal(await store.openOrders(), 0);
  });

  it('has no older deadlines to adopt in a store of its own', async () => {
    assert.equal(await store.adoptLegacyDeadlines(), 0);
  });
}
