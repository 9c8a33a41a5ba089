/**
 * The plain peer's inventory handler: the same Lua scripts Warren's StockStore runs, with the same KEYS and ARGV
 * (plain-calls.ts), called straight from the handler.
 */
import { calls, keys, mergeLines } from './plain-calls';
import { outcome, type Consumer, type Incoming, type PlainContext } from './plain-consume-loop';

/**
 * Inventory: `OrderPlaced` runs the reservation script and publishes `InventoryReserved` (or `InventoryRejected`)
 * with a confirm; `OrderConfirmed` reads the reservation's lines and runs the settle script (`commit`), as Warren's
 * StockStore does; anything else is acked.
 */
export function inventoryHandler(ctx: PlainContext) {
  const { scripts, prefix, retentionMs } = ctx;
  return async (event: Incoming, c: Consumer): Promise<void> => {
    if (event.eventType === 'OrderPlaced') {
      const items = event.items ?? [];
      const [status, productId] = (await scripts.run('reserve', calls.reserve(prefix, retentionMs, event.orderId, mergeLines(items)))) as [
        string,
        string,
        number,
      ];
      if (status === 'CONFLICT') throw new Error(`OrderPlaced for ${event.orderId} has other lines than the first one seen`);
      if (status === 'RESERVED')
        await c.publishConfirmed('inventory.reserved', outcome('InventoryReserved', { orderId: event.orderId, items }, event));
      else if (status === 'REJECTED')
        await c.publishConfirmed(
          'inventory.rejected',
          outcome(
            'InventoryRejected',
            { orderId: event.orderId, reason: 'OUT_OF_STOCK', productId: productId || items[0]?.productId },
            event,
          ),
        );
    } else if (event.eventType === 'OrderConfirmed') {
      let items = (await ctx.redis.hget(keys.reservation(prefix, event.orderId), 'items')) ?? '';
      for (let attempt = 0; attempt < 2; attempt++) {
        const [status, stored] = (await scripts.run('settle', calls.settle(prefix, retentionMs, event.orderId, items, 'commit'))) as [
          string,
          string,
        ];
        if (status !== 'STALE') return;
        items = stored;
      }
      throw new Error(`reservation of ${event.orderId} changed under settle twice`);
    }
  };
}
