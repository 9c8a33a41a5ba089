import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OPS_SECURITY } from '../../../shared/http/ops-auth';
import { ProductId } from '../../../shared/events/common';
import type { InventoryStore } from '../store/inventory-store';

const Params = Type.Object({ productId: ProductId });
const Body = Type.Object({ available: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) }, { additionalProperties: false });

/** Inventory admin on the ops port: set and read a product's stock. */
export function stockRoutes(app: FastifyInstance, store: InventoryStore): void {
  app.put<{ Params: Static<typeof Params>; Body: Static<typeof Body> }>(
    '/stock/:productId',
    // Admin, like the read below: needs the ops token whenever one is set (shared/http/ops-auth.ts).
    { schema: { params: Params, body: Body, security: OPS_SECURITY } },
    async (req) => store.setAvailable(req.params.productId, req.body.available),
  );
  app.get<{ Params: Static<typeof Params> }>('/stock/:productId', { schema: { params: Params, security: OPS_SECURITY } }, async (req) =>
    store.get(req.params.productId),
  );
}
