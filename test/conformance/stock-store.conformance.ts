import assert from 'node:assert/strict';
import { ConflictingEventError } from '../../shared/errors/errors';
import { InvalidIdError } from '../../shared/redis/key-layout';
import { StatePreconditionError } from '../../shared/redis/script';
import type { InventoryStore } from '../../workers/inventory/store/inventory-store';
import { freshId, type MakeStore } from './fresh-ids';

/**
 * What every {@link InventoryStore} does, as the inventory handlers rely on it: all lines or none, a repeat that
 * changes nothing and answers the same, compensation exactly once, and a tombstone for an order cancelled before it
 * was reserved. Run against Redis (test/integration/store-conformance.test.ts) and memory (test/unit/stores/).
 */
export function stockStoreConformance(makeStore: MakeStore<InventoryStore>): void {
  let store: InventoryStore;
  beforeEach(async () => {
    store = await makeStore();
  });

  /** Products with these counts available, and an order id nobody used. */
  async function stocked(...available: number[]) {
    const products = available.map(() => freshId('P'));
    for (const [i, count] of available.entries()) await store.setAvailable(products[i]!, count);
    return { products, orderId: freshId('o') };
  }
  /** `[available, reserved]` of each product. */
  const levels = async (products: string[]) => (await Promise.all(products.map((p) => store.get(p)))).map((l) => [l.available, l.reserved]);

  it('reserves every line when each is in stock, and moves it from available to reserved', async () => {
    const { products, orderId } = await stocked(5, 2);
    const result = await store.reserve(orderId, [
      { productId: products[0]!, quantity: 3 },
      { productId: products[1]!, quantity: 2 },
    ]);
    assert.deepEqual(result, { status: 'RESERVED', changed: true });
    assert.deepEqual(await levels(products), [
      [2, 3],
      [0, 2],
    ]);
  });

  it('reserves no line when one is short, and names the first product short of stock', async () => {
    const { products, orderId } = await stocked(5, 1, 0);
    const lines = products.map((productId) => ({ productId, quantity: 2 }));
    assert.deepEqual(await store.reserve(orderId, lines), { status: 'REJECTED', changed: true, productId: products[1] });
    assert.deepEqual(await levels(products), [
      [5, 0],
      [1, 0],
      [0, 0],
    ]);
  });

  it('answers a repeat with the first decision and moves nothing, even once the stock changed', async () => {
    const { products, orderId } = await stocked(1);
    const lines = [{ productId: products[0]!, quantity: 1 }];
    await store.reserve(orderId, lines);
    assert.deepEqual(await store.reserve(orderId, lines), { status: 'RESERVED', changed: false });
    assert.deepEqual(await levels(products), [[0, 1]]);

    const rejected = await stocked(0);
    const short = [{ productId: rejected.products[0]!, quantity: 1 }];
    await store.reserve(rejected.orderId, short);
    await store.setAvailable(rejected.products[0]!, 10);
    const repeat = await store.reserve(rejected.orderId, short);
    assert.deepEqual(repeat, { status: 'REJECTED', changed: false, productId: rejected.products[0] });
    assert.deepEqual(await levels(rejected.products), [[10, 0]]);
  });

  it('refuses an order of the same id with other lines (ConflictingEventError), reserved or rejected, and moves nothing', async () => {
    const { products, orderId } = await stocked(5);
    await store.reserve(orderId, [{ productId: products[0]!, quantity: 1 }]);
    await assert.rejects(store.reserve(orderId, [{ productId: products[0]!, quantity: 2 }]), ConflictingEventError);
    assert.deepEqual(await levels(products), [[4, 1]]);

    const rejected = await stocked(0);
    await store.reserve(rejected.orderId, [{ productId: rejected.products[0]!, quantity: 1 }]);
    await assert.rejects(store.reserve(rejected.orderId, [{ productId: products[0]!, quantity: 1 }]), ConflictingEventError);
  });

  it('reserves the last units for exactly as many orders as they cover, however many ask at once', async () => {
    const { products } = await stocked(3);
    const orders = Array.from({ length: 8 }, () => freshId('o'));
    const results = await Promise.all(orders.map((o) => store.reserve(o, [{ productId: products[0]!, quantity: 1 }])));
    assert.equal(results.filter((r) => r.status === 'RESERVED').length, 3);
    assert.equal(results.filter((r) => r.status === 'REJECTED').length, 5);
    assert.deepEqual(await levels(products), [[0, 3]]);
  });

  it('releases a reservation once: the stock goes back to available, a repeat moves nothing', async () => {
    const { products, orderId } = await stocked(4);
    const lines = [{ productId: products[0]!, quantity: 3 }];
    await store.reserve(orderId, lines);
    assert.deepEqual(await store.settle(orderId, 'release'), { status: 'RELEASED', changed: true, items: lines });
    assert.deepEqual(await levels(products), [[4, 0]]);
    assert.deepEqual(await store.settle(orderId, 'release'), { status: 'RELEASED', changed: false, items: lines });
    assert.deepEqual(await store.settle(orderId, 'commit'), { status: 'RELEASED', changed: false, items: lines });
    assert.deepEqual(await levels(products), [[4, 0]]);
  });

  it('commits a reservation once: reserved goes down, available stays; a later release gives nothing back', async () => {
    const { products, orderId } = await stocked(4);
    const lines = [{ productId: products[0]!, quantity: 3 }];
    await store.reserve(orderId, lines);
    assert.deepEqual(await store.settle(orderId, 'commit'), { status: 'COMMITTED', changed: true, items: lines });
    assert.deepEqual(await store.settle(orderId, 'commit'), { status: 'COMMITTED', changed: false, items: lines });
    assert.deepEqual(await store.settle(orderId, 'release'), { status: 'COMMITTED', changed: false, items: lines });
    assert.deepEqual(await levels(products), [[1, 0]]);
  });

  it('leaves a tombstone when an order is released before it was reserved: a late reserve takes nothing', async () => {
    const { products, orderId } = await stocked(4);
    assert.deepEqual(await store.settle(orderId, 'release'), { status: 'CANCELLED', changed: true });
    assert.deepEqual(await store.settle(orderId, 'release'), { status: 'CANCELLED', changed: false });
    assert.deepEqual(await store.reserve(orderId, [{ productId: products[0]!, quantity: 1 }]), { status: 'CANCELLED', changed: false });
    assert.deepEqual(await levels(products), [[4, 0]]);
  });

  it('settles nothing of a rejected order, and commits nothing of an order never seen', async () => {
    const { products, orderId } = await stocked(1);
    const lines = [{ productId: products[0]!, quantity: 2 }];
    await store.reserve(orderId, lines);
    assert.deepEqual(await store.settle(orderId, 'release'), { status: 'REJECTED', changed: false, items: lines });
    assert.deepEqual(await store.settle(orderId, 'commit'), { status: 'REJECTED', changed: false, items: lines });
    assert.deepEqual(await levels(products), [[1, 0]]);
    assert.equal(await store.settle(freshId('o'), 'commit'), undefined);
  });

  it('reads an unknown product as none, and sets available without touching what is reserved', async () => {
    const { products, orderId } = await stocked(0);
    const unknown = freshId('P');
    assert.deepEqual(await store.get(unknown), { productId: unknown, available: 0, reserved: 0 });
    await store.setAvailable(products[0]!, 5);
    await store.reserve(orderId, [{ productId: products[0]!, quantity: 2 }]);
    assert.deepEqual(await store.setAvailable(products[0]!, 7), { productId: products[0], available: 7, reserved: 2 });
  });

  it('refuses an id that breaks the id rule (InvalidIdError) before anything is written', async () => {
    const { products } = await stocked(5);
    await assert.rejects(store.reserve('o:1', [{ productId: products[0]!, quantity: 1 }]), InvalidIdError);
    await assert.rejects(store.reserve(freshId('o'), [{ productId: '_internal', quantity: 1 }]), InvalidIdError);
    await assert.rejects(store.settle('o:1', 'release'), InvalidIdError);
    await assert.rejects(store.setAvailable('P:1', 1), InvalidIdError);
    assert.deepEqual(await levels(products), [[5, 0]]);
  });

  it('refuses to reserve or settle over a stock count that is not an integer (StatePreconditionError), moving nothing', async () => {
    const { products, orderId } = await stocked(5, 5);
    const lines = products.map((productId) => ({ productId, quantity: 1 }));
    await store.reserve(orderId, lines);
    await store.setAvailable(products[1]!, 2.5);
    await assert.rejects(store.reserve(freshId('o'), lines), StatePreconditionError);
    await assert.rejects(store.settle(orderId, 'release'), StatePreconditionError);
    assert.deepEqual(await levels(products), [
      [4, 1],
      [2.5, 1],
    ]);
  });
}
