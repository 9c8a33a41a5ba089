import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { OPEN_OPS_PATHS } from '../../shared/http/ops-auth';
import { createOpsServer } from '../../shared/http/ops-server';
import { opsOpenApi } from '../../workers/contracts';
import { stockRoutes } from '../../workers/inventory/http/stock-routes';
import type { StockStore } from '../../workers/inventory/store/stock-store';
import type { SimulatedGateway } from '../../workers/payment/gateway/simulated-gateway';
import { paymentRoutes } from '../../workers/payment/http/payment-routes';
import type { Ledger } from '../../workers/payment/store/ledger';
import { TEST_OPS_TOKEN } from '../helpers/tokens';

const PROBLEM = 'application/problem+json; charset=utf-8';

/** Stand-ins that answer like the Redis stores: a payment of 150 USD, a product in stock (what a reader must not see). */
const stock = {
  get: async (productId: string) => ({ productId, available: 7, reserved: 0 }),
  setAvailable: async (productId: string, available: number) => ({ productId, available, reserved: 0 }),
} as unknown as StockStore;
const ledger = { get: async () => ({ status: 'CAPTURED', amount: 150, currency: 'USD' }) } as unknown as Ledger;
const gateway = { totals: async () => ({ captures: 1, refunds: 0 }) } as unknown as SimulatedGateway;

interface Route {
  method: string;
  url: string;
}

/** An ops server with every service's real admin routes, and the list of routes it ended up with. */
function opsServer(opsToken?: string): { app: FastifyInstance; routes: Route[] } {
  const routes: Route[] = [];
  const app = createOpsServer(new Registry(), [], [], opsToken === undefined ? {} : { opsToken });
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  stockRoutes(app, stock);
  paymentRoutes(app, ledger, gateway);
  return { app, routes };
}

/** A concrete URL for a route (its parameters filled in) and a body the route's schema takes. */
const request = (route: Route) => ({
  method: route.method as 'GET' | 'PUT',
  url: route.url.replace(/:\w+/g, 'P001'),
  ...(route.method === 'PUT' ? { payload: { available: 3 } } : {}),
});

describe('ops ports: every admin route, read or write, needs the ops token', () => {
  it('refuses each admin route without the token, or with another one: 401 problem+json, nothing read', async () => {
    const { app, routes } = opsServer(TEST_OPS_TOKEN);
    await app.ready();
    const admin = routes.filter((r) => !OPEN_OPS_PATHS.has(r.url));
    // The payment ledger and both stock routes at least: a list that lost them would prove nothing.
    assert.deepEqual(admin.map((r) => `${r.method} ${r.url}`).sort(), [
      'GET /payments/:orderId',
      'GET /stock/:productId',
      'PUT /stock/:productId',
    ]);
    for (const route of admin) {
      for (const headers of [{}, { authorization: 'Bearer not-the-ops-token' }, { authorization: TEST_OPS_TOKEN }]) {
        const res = await app.inject({ ...request(route), headers });
        assert.equal(res.statusCode, 401, `${route.method} ${route.url} with ${JSON.stringify(headers)}`);
        assert.equal(res.headers['content-type'], PROBLEM);
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="ops"/);
        assert.doesNotMatch(res.body, /150|USD|"available"/, 'the refusal shows nothing of the record');
      }
    }
  });

  it('answers each admin route with the token', async () => {
    const { app, routes } = opsServer(TEST_OPS_TOKEN);
    await app.ready();
    const authorization = `Bearer ${TEST_OPS_TOKEN}`;
    for (const route of routes.filter((r) => !OPEN_OPS_PATHS.has(r.url))) {
      const res = await app.inject({ ...request(route), headers: { authorization } });
      assert.equal(res.statusCode, 200, `${route.method} ${route.url}: ${res.body}`);
    }
    const payment = await app.inject({ method: 'GET', url: '/payments/O1', headers: { authorization } });
    assert.deepEqual(payment.json(), { orderId: 'O1', status: 'CAPTURED', amount: 150, currency: 'USD', captures: 1, refunds: 0 });
  });

  it('leaves the probes and the scrape open (GET and HEAD), and nothing else', async () => {
    const { app } = opsServer(TEST_OPS_TOKEN);
    for (const url of OPEN_OPS_PATHS) {
      assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200, `GET ${url}`);
      assert.equal((await app.inject({ method: 'HEAD', url })).statusCode, 200, `HEAD ${url}`);
    }
    assert.deepEqual([...OPEN_OPS_PATHS].sort(), ['/healthz', '/metrics', '/readyz']);
    // The raw URL does not count, the matched route does: a query string or a path that only starts like a probe
    // gets no pass.
    assert.equal((await app.inject({ method: 'GET', url: '/healthz?x=1' })).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/healthz/../payments/O1' })).statusCode, 401);
  });

  it('answers an unknown URL 401 without the token (no map of the admin routes by their 404s), 404 with it', async () => {
    const { app } = opsServer(TEST_OPS_TOKEN);
    assert.equal((await app.inject({ method: 'GET', url: '/admin/secrets' })).statusCode, 401);
    const known = await app.inject({ method: 'GET', url: '/admin/secrets', headers: { authorization: `Bearer ${TEST_OPS_TOKEN}` } });
    assert.equal(known.statusCode, 404);
  });

  it('without any OPS_TOKEN (AUTH_MODE=off on a laptop) the admin routes stay open', async () => {
    // The one configuration without a token to check: the chart refuses it (helm-chart-refusals.test.ts), and
    // docs/security.md says so. Pinned here so that a change to it is a decision, not an accident.
    const { app } = opsServer();
    assert.equal((await app.inject({ method: 'GET', url: '/payments/O1' })).statusCode, 200);
  });

  it('docs/openapi-ops.json names the opsToken scheme on exactly the routes the server guards', async () => {
    const document = (await opsOpenApi()) as { paths: Record<string, Record<string, { security?: unknown }>> };
    const operations = Object.entries(document.paths).flatMap(([url, methods]) =>
      Object.entries(methods)
        .filter(([method]) => ['get', 'put', 'post', 'delete', 'patch', 'head'].includes(method))
        .map(([method, operation]) => ({ url, method, security: operation.security })),
    );
    assert.ok(operations.length >= 6, `only ${operations.length} operations described`);
    for (const { url, method, security } of operations) {
      // OpenAPI writes /stock/{productId}; the server's routes are /stock/:productId. Only the open ones are compared.
      const open = OPEN_OPS_PATHS.has(url);
      assert.deepEqual(security, open ? undefined : [{ opsToken: [] }], `${method.toUpperCase()} ${url}`);
    }
  });
});
