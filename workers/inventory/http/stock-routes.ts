import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OPS_SECURITY } from '../../../shared/http/ops-auth';
import { ProductId } from '../../../shared/events/common';
import type { StockStore } from '../store/stock-store';

const Params = Type.Object({ productId: ProductId });
const Body = Type.Object({ available: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }) }, { additionalProperties: false });

/** Inventory admin on the ops port: set and read a product's stock. */
export function stockRoutes(app: FastifyInstance, store: StockStore): void {
  app.put<{ Params: Static<typeof Params>; Body: Static<typeof Body> }>(
    '/stock/:productId',
    // Changes state: needs the ops token when authentication is on (shared/http/ops-auth.ts).
    { schema: { params: Params, body: Body, security: OPS_SECURITY } },
    async (req) => store.setAvailable(req.params.productId, req.body.available),
  );
  app.get<{ Params: Static<typeof Params> }>('/stock/:productId', { schema: { params: Params } }, async (req) =>
    store.get(req.params.productId),
  );
}
