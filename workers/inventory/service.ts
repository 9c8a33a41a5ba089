import type { ServiceDeclaration } from '../../shared/lifecycle/declaration';
import { INVENTORY_EVENTS } from './events';

export const INVENTORY_QUEUE = 'warren.inventory';

/** Reserves stock for placed orders, releases it for cancelled ones, and commits it for confirmed ones. */
export const inventory = {
  name: 'inventory',
  summary: 'reserves stock for placed orders, releases it for cancelled ones, commits it for confirmed ones',
  consumes: [
    {
      name: INVENTORY_QUEUE,
      bindings: ['order.placed', 'order.cancelled', 'order.confirmed'],
      // Every handler's effect is one Redis function whose reservation record is its done marker: no claim needed.
      idempotency: 'atomic',
    },
  ],
  events: INVENTORY_EVENTS,
  // Stock per product and each order's reservation (workers/inventory/store/stock-store.ts).
  redisKeys: ['stock:*', 'inventory:*'],
  // The ops token guards PUT /stock (shared/http/ops-auth.ts).
  secrets: ['OPS_TOKEN'],
  ops: { env: 'INVENTORY_OPS_PORT', default: 9102, routes: ['PUT /stock/:productId', 'GET /stock/:productId'] },
} as const satisfies ServiceDeclaration;
