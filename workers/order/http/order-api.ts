import type { FastifyInstance } from 'fastify';
import { registerOpenApi, serveOpenApi } from '../../../shared/http/openapi';
import { orderRoutes, type OrderRoutesDeps } from './order-routes';

/** The order API's contract version: changes with docs/contract.md's Order API section, not with every release. */
export const ORDER_API_VERSION = '1.1.0';

/**
 * The order API on `app`: its routes, described by themselves at `GET /openapi.json` (the document
 * `npm run contracts` writes to docs/openapi.json, from the same registrations). Hooks the caller adds to `app`
 * (authentication) apply to every route.
 */
export async function orderApi(app: FastifyInstance, deps: OrderRoutesDeps): Promise<void> {
  await registerOpenApi(
    app,
    {
      title: 'Warren order API',
      version: ORDER_API_VERSION,
      description:
        'Place an order and follow it to CONFIRMED or CANCELLED. Errors are application/problem+json (RFC 9457) naming the ' +
        'offending field. Generated from the route schemas: docs/openapi.json, and GET /openapi.json on a running service.',
    },
    ['bearerAuth'],
  );
  orderRoutes(app, deps);
  serveOpenApi(app);
}
