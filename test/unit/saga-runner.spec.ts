import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { createEvent } from '../../shared/events/codec';
import type { Publisher } from '../../shared/messaging/publisher';
import { createLogger } from '../../shared/observability/logger';
import { newOrder, type Order } from '../../workers/order/domain/order-saga';
import { createOrderMetrics } from '../../workers/order/order-metrics';
import { SagaRunner } from '../../workers/order/saga-runner';
import type { OrderStore } from '../../workers/order/store/order-store';
import type { OutboxEntry } from '../../workers/order/store/saga-store';
import { OutboxPublisher } from '../../workers/order/outbox/outbox-publisher';

/** An order store in memory that records its calls; each update waits for the test to let it finish. */
function fakeStore() {
  const stored = new Map<string, { order: Order; version: string }>();
  const calls: string[] = [];
  const gates: (() => void)[] = [];
  const failing = { next: false };
  const store = {
    async get(orderId: string) {
      calls.push(`get ${orderId}`);
      return stored.get(orderId);
    },
    async update(order: Order, expectedVersion: string, _final: boolean, outbox: OutboxEntry[]) {
      calls.push(`update v${expectedVersion} ${outbox.map((e) => e.event.eventType).join(',')}`);
      await new Promise<void>((resolve) => gates.push(resolve));
      if (failing.next) {
        failing.next = false;
        throw new Error('redis away');
      }
      const current = stored.get(order.orderId);
      if (current?.version !== expectedVersion) return false;
      stored.set(order.orderId, { order, version: String(Number(expectedVersion) + 1) });
      return true;
    },
    removeFromOutbox() {},
  };
  return { store: store as unknown as OrderStore, stored, calls, gates, failing };
}

function runnerWith(store: OrderStore) {
  const published: string[] = [];
  const publisher = {
    async publishEvent(event: { eventType: string }) {
      published.push(event.eventType);
    },
  } as unknown as Publisher;
  const log = createLogger({ service: 'test', level: 'silent' });
  const runner = new SagaRunner(store, new OutboxPublisher(store, publisher, log), createOrderMetrics(new Registry()), log);
  return { runner, published };
}

function placed(): Order {
  const orderId = randomUUID();
  const event = createEvent(
    'OrderPlaced',
    { orderId, customerId: 'c-1', items: [{ productId: 'P1', quantity: 1 }], totalAmount: 10, currency: 'USD' },
    { correlationId: orderId },
  );
  return newOrder({ ...event, createdAt: event.timestamp });
}

/** Lets the pending updates finish, one turn at a time, until none is left. */
async function releaseAll(gates: (() => void)[]): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setImmediate(r));
    gates.splice(0).forEach((open) => open());
  }
}

describe('SagaRunner', () => {
  it('decides two outcomes of one order one after the other, on its own last write: no failed compare-and-set, no read', async () => {
    const { store, stored, calls, gates } = fakeStore();
    const { runner, published } = runnerWith(store);
    const order = placed();
    stored.set(order.orderId, { order, version: '1' });
    runner.remember(order, '1', false);
    const both = Promise.all([
      runner.advance(order.orderId, { eventType: 'InventoryReserved' }),
      runner.advance(order.orderId, { eventType: 'PaymentCaptured' }),
    ]);
    await releaseAll(gates);
    assert.deepEqual(await both, [true, true]);
    assert.deepEqual(calls, ['update v1 ', 'update v2 OrderConfirmed']);
    assert.deepEqual(published, ['OrderConfirmed']);
    assert.equal(stored.get(order.orderId)?.order.status, 'CONFIRMED');
  });

  it('a step that fails does not hold up the next one of the same order', async () => {
    const { store, stored, calls, gates, failing } = fakeStore();
    const { runner, published } = runnerWith(store);
    const order = placed();
    stored.set(order.orderId, { order, version: '1' });
    runner.remember(order, '1', false);
    failing.next = true;
    const first = runner.advance(order.orderId, { eventType: 'InventoryReserved' });
    const firstFails = assert.rejects(first, /redis away/);
    const second = runner.advance(order.orderId, { eventType: 'PaymentCaptured' });
    await releaseAll(gates);
    await firstFails;
    assert.equal(await second, true);
    assert.deepEqual(calls, ['update v1 ', 'update v1 ']);
    assert.deepEqual(published, []);
    assert.equal(stored.get(order.orderId)?.order.payment, 'CAPTURED');
  });
});
