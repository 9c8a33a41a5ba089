import assert from 'node:assert/strict';
import type { AnyEvent } from '../../../shared/events/catalog';
import { ConflictingEventError } from '../../../shared/errors/errors';
import type { EventHandler } from '../../../shared/messaging/context';
import { onOrderCancelled, onOrderConfirmed, onOrderPlaced } from '../../../workers/inventory/handlers/order-handlers';
// Its declaration lists the inventory events, so importing it registers those the handlers publish.
import { INVENTORY_QUEUE } from '../../../workers/inventory/service';
import { MemoryStockStore } from '../../../workers/inventory/store/memory-stock-store';
import { newOrderId, orderCancelled, orderConfirmed, orderPlaced } from '../fakes/event-literals';
import { recordingContext } from '../fakes/recording-context';

/**
 * The inventory handlers' decisions, on the stock store in memory (the same answers as Redis: the conformance
 * suite holds both to them): what each event publishes and what it leaves in stock, first time and on a repeat.
 */
describe('inventory handlers on the in-memory stock store', () => {
  let store: MemoryStockStore;
  let orderId: string;
  beforeEach(async () => {
    store = new MemoryStockStore();
    await store.setAvailable('P1', 5);
    await store.setAvailable('P2', 1);
    orderId = newOrderId();
  });

  async function handle<E extends AnyEvent>(handler: EventHandler<E>, event: E) {
    const { ctx, published } = recordingContext(event, INVENTORY_QUEUE);
    const outcome = await handler(ctx);
    return { outcome, published };
  }
  const place = (items = [{ productId: 'P1', quantity: 2 }]) => handle(onOrderPlaced(store), orderPlaced({ orderId, items }));
  const cancel = () => handle(onOrderCancelled(store), orderCancelled(orderId));
  const confirm = () => handle(onOrderConfirmed(store), orderConfirmed(orderId));
  const stock = async () => [await store.get('P1'), await store.get('P2')].map((l) => [l.available, l.reserved]);

  it('reserves every line of an order and publishes InventoryReserved with its lines, under the derived eventId', async () => {
    const items = [
      { productId: 'P1', quantity: 2 },
      { productId: 'P2', quantity: 1 },
      { productId: 'P1', quantity: 1 },
    ];
    const { outcome, published } = await place(items);
    assert.equal(outcome, 'done');
    assert.deepEqual(published, [{ eventType: 'InventoryReserved', eventId: `InventoryReserved:${orderId}`, payload: { orderId, items } }]);
    assert.deepEqual(await stock(), [
      [2, 3],
      [0, 1],
    ]);
  });

  it('rejects an order one line of which is short, naming that product, and reserves none of its lines', async () => {
    const { outcome, published } = await place([
      { productId: 'P1', quantity: 1 },
      { productId: 'P2', quantity: 2 },
    ]);
    assert.equal(outcome, 'done');
    assert.deepEqual(published, [
      {
        eventType: 'InventoryRejected',
        eventId: `InventoryRejected:${orderId}`,
        payload: { orderId, reason: 'OUT_OF_STOCK', productId: 'P2' },
      },
    ]);
    assert.deepEqual(await stock(), [
      [5, 0],
      [1, 0],
    ]);
  });

  it('answers a redelivered OrderPlaced with the same outcome and eventId, reserving nothing twice', async () => {
    const first = await place();
    const again = await place();
    assert.equal(again.outcome, 'duplicate');
    assert.deepEqual(again.published, first.published);
    assert.deepEqual(await stock(), [
      [3, 2],
      [1, 0],
    ]);

    orderId = newOrderId();
    const rejected = await place([{ productId: 'P2', quantity: 9 }]);
    await store.setAvailable('P2', 50);
    const rejectedAgain = await place([{ productId: 'P2', quantity: 9 }]);
    assert.deepEqual([rejectedAgain.outcome, rejectedAgain.published], ['duplicate', rejected.published]);
    assert.deepEqual((await store.get('P2')).reserved, 0, 'a rejection stands once made');
  });

  it('refuses an OrderPlaced of the same order with other lines (ConflictingEventError), publishing nothing', async () => {
    await place();
    const { ctx, published } = recordingContext(orderPlaced({ orderId, items: [{ productId: 'P1', quantity: 3 }] }), INVENTORY_QUEUE);
    await assert.rejects(onOrderPlaced(store)(ctx), ConflictingEventError);
    assert.deepEqual(published, []);
    assert.deepEqual((await store.get('P1')).reserved, 2);
  });

  it('releases a cancelled order once: InventoryReleased with its lines, the stock back; a repeat re-publishes it', async () => {
    await place();
    const released = await cancel();
    assert.equal(released.outcome, 'done');
    const items = [{ productId: 'P1', quantity: 2 }];
    assert.deepEqual(released.published, [
      { eventType: 'InventoryReleased', eventId: `InventoryReleased:${orderId}`, payload: { orderId, items } },
    ]);
    assert.deepEqual(await stock(), [
      [5, 0],
      [1, 0],
    ]);
    const again = await cancel();
    assert.deepEqual([again.outcome, again.published], ['duplicate', released.published]);
    assert.deepEqual(await stock(), [
      [5, 0],
      [1, 0],
    ]);
  });

  it('gives nothing back for a rejected order, and publishes nothing', async () => {
    await place([{ productId: 'P2', quantity: 2 }]);
    const { outcome, published } = await cancel();
    assert.deepEqual([outcome, published], ['done', []]);
    assert.deepEqual(await stock(), [
      [5, 0],
      [1, 0],
    ]);
  });

  it('leaves a tombstone for an order cancelled before it was placed: its late OrderPlaced reserves nothing', async () => {
    assert.deepEqual(await cancel(), { outcome: 'done', published: [] });
    assert.equal((await cancel()).outcome, 'duplicate');
    const late = await place();
    assert.deepEqual([late.outcome, late.published], ['duplicate', []]);
    assert.deepEqual(await stock(), [
      [5, 0],
      [1, 0],
    ]);
  });

  it('commits a confirmed order once: reserved goes down, available stays, nothing is published', async () => {
    await place();
    assert.deepEqual(await confirm(), { outcome: 'done', published: [] });
    assert.deepEqual(await confirm(), { outcome: 'duplicate', published: [] });
    assert.deepEqual(await stock(), [
      [3, 0],
      [1, 0],
    ]);
    const lateCancel = await cancel();
    assert.deepEqual(lateCancel.published, [], 'a committed reservation is never released');
    assert.deepEqual(await stock(), [
      [3, 0],
      [1, 0],
    ]);
  });
});
