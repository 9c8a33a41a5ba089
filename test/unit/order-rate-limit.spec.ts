import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ConfigError } from '../../shared/config/config';
import { createEvent } from '../../shared/events/codec';
import type { OrderPlaced } from '../../workers/order/events';
import { createHttpServer } from '../../shared/http/server';
import { createLogger } from '../../shared/observability/logger';
import { sealToken } from '../../shared/security/sealed-token';
import { DEV_TOKEN_KEYRING } from '../../shared/security/token-keys';
import { orderDigest } from '../../workers/order/http/order-checks';
import { orderRoutes } from '../../workers/order/http/order-routes';
import { createOrderMetrics } from '../../workers/order/order-metrics';
import { placeOrder, type PlaceOrderDeps } from '../../workers/order/place-order';
import { orderRateLimitOf, rateLimitedProblem, retryAfterSeconds, type OrderRateLimit } from '../../workers/order/rate-limit';
import type { SagaRunner } from '../../workers/order/saga-runner';
import type { OrderStore } from '../../workers/order/store/order-store';
import type { CreateResult, CustomerLimit } from '../../workers/order/store/saga-store';
import { loadFleetConfig, settingsOf } from '../../workers/registry';
import { LogCapture } from '../helpers/log-capture';
import { orderRequest } from '../helpers/api';

const RATE: OrderRateLimit = { limit: 3, windowMs: 60_000 };

/** A store that answers `result` and keeps the limit each create was asked to count against. */
function fakeStore(result: CreateResult) {
  const limits: (CustomerLimit | undefined)[] = [];
  const store = {
    async create(_order: unknown, _deadline: number, _outbox: unknown, _idempotency: unknown, limit?: CustomerLimit) {
      limits.push(limit);
      return result;
    },
  } as unknown as OrderStore;
  return { store, limits };
}

/** A saga runner that records what was flushed or remembered: a limited order must do neither. */
function fakeRunner() {
  const seen = { flushed: 0, remembered: 0 };
  const runner = {
    knows: () => false,
    remember: () => void seen.remembered++,
    outbox: { flush: async (entries: readonly unknown[]) => ((seen.flushed += entries.length), entries.length) },
  } as unknown as SagaRunner;
  return { runner, seen };
}

const placed = (customerId: string): OrderPlaced =>
  createEvent(
    'OrderPlaced',
    {
      orderId: 'o-1',
      customerId,
      items: [{ productId: 'P001', quantity: 1 }],
      totalAmount: 150,
      currency: 'USD',
      sealedPaymentToken: sealToken(DEV_TOKEN_KEYRING, 'tok_visa', 'o-1'),
    },
    { correlationId: 'o-1' },
  ) as OrderPlaced;

const counterValue = async (registry: Registry, name: string) => (await registry.getSingleMetric(name)?.get())?.values[0]?.value ?? 0;

describe('order rate limit: the decision around the count', () => {
  describe('settings', () => {
    it('defaults to 120 orders a minute, and 0 turns it off', () => {
      const settings = settingsOf(loadFleetConfig({}), 'order');
      assert.equal(settings.ORDER_RATE_LIMIT, 120);
      assert.equal(settings.ORDER_RATE_WINDOW_MS, 60_000);
      assert.deepEqual(orderRateLimitOf(settings), { limit: 120, windowMs: 60_000 });
      assert.equal(orderRateLimitOf(settingsOf(loadFleetConfig({ ORDER_RATE_LIMIT: '0' }), 'order')), undefined);
    });

    for (const [name, value] of [
      ['ORDER_RATE_LIMIT', '-1'],
      ['ORDER_RATE_LIMIT', 'many'],
      ['ORDER_RATE_WINDOW_MS', '0'],
      ['ORDER_RATE_WINDOW_MS', '1m'],
    ] as const) {
      it(`stops with one line naming ${name} for ${JSON.stringify(value)}`, () => {
        assert.throws(
          () => loadFleetConfig({ [name]: value }),
          (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid configuration: ${name}:`) && !e.message.includes('\n'),
        );
      });
    }
  });

  describe('Retry-After and the problem', () => {
    it('rounds the time left up to whole seconds, never below 1', () => {
      assert.equal(retryAfterSeconds(0), 1);
      assert.equal(retryAfterSeconds(1), 1);
      assert.equal(retryAfterSeconds(1000), 1);
      assert.equal(retryAfterSeconds(1001), 2);
      assert.equal(retryAfterSeconds(59_999), 60);
    });

    it('is a 429 problem naming the limit, its window and when to come back', () => {
      const problem = rateLimitedProblem(RATE, 42);
      assert.equal(problem.status, 429);
      assert.equal(problem.title, 'Too Many Requests');
      assert.equal(problem['limit'], 3);
      assert.equal(problem['windowSeconds'], 60);
      assert.equal(problem['retryAfter'], 42);
      assert.match(problem.detail ?? '', /at most 3 orders per customer every 60 s; try again in 42 s/);
    });
  });

  describe('placeOrder', () => {
    const deps = (store: OrderStore, runner: SagaRunner, rateLimit?: OrderRateLimit): PlaceOrderDeps & { registry: Registry } => {
      const registry = new Registry();
      return {
        store,
        runner,
        metrics: createOrderMetrics(registry),
        orderTimeoutMs: 60_000,
        registry,
        ...(rateLimit ? { rateLimit } : {}),
      };
    };

    it('counts an API order against the customer it is for, with the configured limit', async () => {
      const { store, limits } = fakeStore({ kind: 'created' });
      await placeOrder(deps(store, fakeRunner().runner, RATE), { source: 'api', event: placed('alice'), traceparent: '' });
      assert.deepEqual(limits, [{ customerId: 'alice', limit: 3, windowMs: 60_000 }]);
    });

    it('counts nothing with the limit off, nor an order adopted from the bus (refusing it would lose it)', async () => {
      const { store, limits } = fakeStore({ kind: 'created' });
      await placeOrder(deps(store, fakeRunner().runner), { source: 'api', event: placed('alice'), traceparent: '' });
      await placeOrder(deps(store, fakeRunner().runner, RATE), { source: 'event', event: placed('alice') });
      assert.deepEqual(limits, [undefined, undefined]);
    });

    it('a refused order is counted as refused, not placed, and neither remembered nor published', async () => {
      const { store } = fakeStore({ kind: 'limited', retryAfterMs: 1500, rate: RATE });
      const { runner, seen } = fakeRunner();
      const d = deps(store, runner, RATE);
      const result = await placeOrder(d, { source: 'api', event: placed('alice'), traceparent: '' });
      assert.equal(result.kind, 'limited');
      assert.deepEqual(seen, { flushed: 0, remembered: 0 });
      assert.equal(await counterValue(d.registry, 'warren_orders_rate_limited_total'), 1);
      assert.equal(await counterValue(d.registry, 'warren_orders_placed_total'), 0);
    });
  });

  describe('POST /orders', () => {
    const api = async (result: CreateResult) => {
      const { store, limits } = fakeStore(result);
      const app = createHttpServer();
      const registry = new Registry();
      const log = createLogger({ service: 'test', level: 'info', destination: new LogCapture() });
      orderRoutes(app, {
        store,
        runner: fakeRunner().runner,
        metrics: createOrderMetrics(registry),
        orderTimeoutMs: 60_000,
        rateLimit: RATE,
        log,
        brokerUp: () => true,
        tokenKeys: DEV_TOKEN_KEYRING,
      });
      await app.ready();
      return { app, limits };
    };

    it('answers a customer at the limit 429 problem+json with Retry-After in seconds', async () => {
      const { app, limits } = await api({ kind: 'limited', retryAfterMs: 2500, rate: RATE });
      const res = await app.inject({ method: 'POST', url: '/orders', payload: orderRequest({ customerId: 'c-9' }) });
      assert.equal(res.statusCode, 429);
      assert.equal(res.headers['retry-after'], '3');
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      assert.deepEqual(
        { ...(res.json() as object), detail: undefined },
        {
          type: 'https://warren.dev/problems/rate-limited',
          title: 'Too Many Requests',
          status: 429,
          detail: undefined,
          limit: 3,
          windowSeconds: 60,
          retryAfter: 3,
        },
      );
      // With authentication off, the customer counted is the one the body names.
      assert.equal(limits[0]?.customerId, 'c-9');
    });

    it('answers a retry of an accepted order with its first answer (the store found it before counting)', async () => {
      const { app } = await api({ kind: 'idempotent', stored: `${orderDigest(orderRequest())}:o-7` });
      const res = await app.inject({ method: 'POST', url: '/orders', payload: orderRequest(), headers: { 'idempotency-key': 'k-1' } });
      assert.equal(res.statusCode, 202);
      assert.deepEqual(res.json(), { orderId: 'o-7', status: 'PENDING' });
      assert.equal(res.headers['retry-after'], undefined);
    });
  });
});
