import { describedOnly } from '../../shared/documents/described-only';
import type { ServiceDefinition } from '../../shared/lifecycle/service';
import { onOrderCancelled, onOrderConfirmed, onOrderPlaced } from './handlers/order-handlers';
import { stockRoutes } from './http/stock-routes';
import { inventory, INVENTORY_QUEUE } from './service';
import { StockStore } from './store/stock-store';

/** Reserves stock for placed orders, releases it for cancelled ones, and commits it for confirmed ones. */
export const service: ServiceDefinition = {
  ...inventory,
  wire(runtime) {
    const store = new StockStore(runtime.redis, runtime.config.redisKeyPrefix, runtime.config.idempotencyRetentionMs, runtime.metrics);
    stockRoutes(runtime.ops, store);
    runtime.consume(INVENTORY_QUEUE, {
      OrderPlaced: onOrderPlaced(store),
      OrderCancelled: onOrderCancelled(store),
      OrderConfirmed: onOrderConfirmed(store),
    });
  },
  describeOps: (app) => stockRoutes(app, describedOnly('stock store')),
};
