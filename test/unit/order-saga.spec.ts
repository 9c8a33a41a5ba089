import assert from 'node:assert/strict';
import { applyToOrder, isFinal, newOrder, orderView, type Order, type SagaInput } from '../../workers/order/domain/order-saga';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000).toISOString();

function order(): Order {
  return newOrder({
    orderId: 'o-1',
    customerId: 'c-1',
    items: [{ productId: 'P001', quantity: 2 }],
    totalAmount: 10,
    currency: 'USD',
    createdAt: T0,
  });
}

function run(inputs: SagaInput['eventType'][]) {
  let o = order();
  const emitted: string[] = [];
  inputs.forEach((eventType, i) => {
    const step = applyToOrder(o, { eventType } as SagaInput, at(i + 1));
    o = step.order;
    emitted.push(...step.emit.map((e) => ('reason' in e ? `${e.eventType}:${e.reason}` : e.eventType)));
  });
  return { order: o, emitted };
}

describe('order saga (pure state machine)', () => {
  it('confirms once both reservation and capture are in, in either order', () => {
    for (const inputs of [
      ['InventoryReserved', 'PaymentCaptured'],
      ['PaymentCaptured', 'InventoryReserved'],
    ] as const) {
      const { order: o, emitted } = run([...inputs]);
      assert.equal(o.status, 'CONFIRMED');
      assert.deepEqual(emitted, ['OrderConfirmed']);
    }
  });

  it('cancels as OUT_OF_STOCK on rejection, even after a capture', () => {
    const { order: o, emitted } = run(['PaymentCaptured', 'InventoryRejected']);
    assert.equal(o.status, 'CANCELLED');
    assert.equal(o.reason, 'OUT_OF_STOCK');
    assert.deepEqual(emitted, ['OrderCancelled:OUT_OF_STOCK']);
  });

  it('cancels as PAYMENT_DECLINED on decline, even after a reservation', () => {
    const { order: o, emitted } = run(['InventoryReserved', 'PaymentDeclined']);
    assert.equal(o.reason, 'PAYMENT_DECLINED');
    assert.deepEqual(emitted, ['OrderCancelled:PAYMENT_DECLINED']);
  });

  it('cancels once when both legs refuse', () => {
    const { order: o, emitted } = run(['InventoryRejected', 'PaymentDeclined']);
    assert.equal(o.reason, 'OUT_OF_STOCK');
    assert.deepEqual(emitted, ['OrderCancelled:OUT_OF_STOCK']);
  });

  it('cancels as TIMEOUT at the deadline, and a late outcome emits nothing', () => {
    const { order: o, emitted } = run(['InventoryReserved', 'TimedOut', 'PaymentCaptured']);
    assert.equal(o.status, 'CANCELLED');
    assert.equal(o.reason, 'TIMEOUT');
    assert.equal(o.payment, 'CAPTURED');
    assert.deepEqual(emitted, ['OrderCancelled:TIMEOUT']);
  });

  it('ignores a timeout after the order ended', () => {
    const { order: o, emitted } = run(['InventoryReserved', 'PaymentCaptured', 'TimedOut']);
    assert.equal(o.status, 'CONFIRMED');
    assert.deepEqual(emitted, ['OrderConfirmed']);
    const late = applyToOrder(o, { eventType: 'TimedOut' }, at(9));
    assert.equal(late.changed, false, 'nothing to store: a late deadline does not touch an ended order');
    assert.equal(late.order, o);
    assert.deepEqual(late.emit, []);
  });

  it('treats a duplicate outcome as no change', () => {
    const first = applyToOrder(order(), { eventType: 'InventoryReserved' }, at(1));
    const again = applyToOrder(first.order, { eventType: 'InventoryReserved' }, at(2));
    assert.equal(again.changed, false);
    assert.equal(again.order, first.order);
    assert.deepEqual(again.emit, []);
  });

  it('records compensation in the history without changing the end state', () => {
    const { order: o } = run(['InventoryReserved', 'PaymentDeclined', 'InventoryReleased']);
    assert.equal(o.status, 'CANCELLED');
    assert.equal(o.inventory, 'RELEASED');
    assert.deepEqual(
      o.history.map((h) => h.eventType),
      ['OrderPlaced', 'InventoryReserved', 'PaymentDeclined', 'InventoryReleased'],
    );
  });

  it('only refunds a captured payment', () => {
    const step = applyToOrder(order(), { eventType: 'PaymentRefunded' }, at(1));
    assert.equal(step.changed, false);
  });

  it("records the refund of a cancelled order's capture, emitting nothing more", () => {
    const cancelled = run(['PaymentCaptured', 'InventoryRejected']).order;
    const step = applyToOrder(cancelled, { eventType: 'PaymentRefunded' }, at(3));
    assert.equal(step.changed, true);
    assert.equal(step.order.payment, 'REFUNDED');
    assert.equal(step.order.status, 'CANCELLED');
    assert.equal(step.order.reason, 'OUT_OF_STOCK');
    assert.deepEqual(step.emit, []);
    assert.deepEqual(step.order.history.at(-1), { eventType: 'PaymentRefunded', at: at(3) });
  });

  it('is final once confirmed or cancelled, never while pending', () => {
    assert.equal(isFinal(order()), false);
    assert.equal(isFinal(run(['InventoryReserved']).order), false, 'one leg in is still pending');
    assert.equal(isFinal(run(['InventoryReserved', 'PaymentCaptured']).order), true);
    assert.equal(isFinal(run(['PaymentDeclined']).order), true);
  });

  it('hides the internal legs from the API view', () => {
    const view = orderView(order()) as Record<string, unknown>;
    assert.equal(view['inventory'], undefined);
    assert.equal(view['payment'], undefined);
    assert.equal(view['status'], 'PENDING');
  });
});
