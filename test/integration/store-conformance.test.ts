import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMetrics } from '../../shared/observability/metrics';
import { ensureLibraries } from '../../shared/redis/script';
import { STOCK_FUNCTIONS, StockStore } from '../../workers/inventory/store/stock-store';
import { ORDER_FUNCTIONS } from '../../workers/order/store/order-functions';
import { OrderStore } from '../../workers/order/store/order-store';
import { GATEWAY_FUNCTIONS, SimulatedGateway } from '../../workers/payment/gateway/simulated-gateway';
import { LEDGER_FUNCTIONS, Ledger } from '../../workers/payment/store/ledger';
import { REDIS_URL } from '../helpers/broker';
import { deleteKeys } from '../helpers/fleet';
import { gatewayConformance } from '../conformance/gateway.conformance';
import { ledgerConformance } from '../conformance/ledger.conformance';
import { sagaStoreConformance } from '../conformance/saga-store.conformance';
import { stockStoreConformance } from '../conformance/stock-store.conformance';

const RETENTION_MS = 60_000;

/**
 * The stores' conformance suites against the real Redis, the same suites the in-memory stores pass
 * (test/unit/stores/): what memory answers in a handler's unit test is what Redis answers in the fleet. Every key
 * is under a prefix of this run's own, deleted afterwards.
 */
describe('store conformance on Redis: the suites the in-memory stores pass', function () {
  this.timeout(30_000);
  const prefix = `warren-test:${randomUUID()}:`;
  const redis = new Redis(REDIS_URL);
  const metrics = createMetrics('store-conformance');

  before(async () => {
    // As the operator would (`npm run redis-functions -- load`); the suites then never meet a missing library.
    await ensureLibraries(redis, [STOCK_FUNCTIONS, LEDGER_FUNCTIONS, GATEWAY_FUNCTIONS, ORDER_FUNCTIONS]);
  });
  after(async () => {
    await deleteKeys(redis, prefix);
    assert.deepEqual(await redis.keys(`${prefix}*`), [], 'no key of this run is left');
    await redis.quit();
  });

  describe('StockStore', () => stockStoreConformance(() => new StockStore(redis, prefix, RETENTION_MS, metrics)));
  describe('Ledger', () => ledgerConformance(() => new Ledger(redis, prefix, RETENTION_MS, metrics)));
  describe('SimulatedGateway', () =>
    gatewayConformance((options) => new SimulatedGateway(redis, { prefix, retentionMs: RETENTION_MS, ...options })));
  // One outbox and one deadline index per store: each test's store gets a prefix of its own, inside the run's.
  let stores = 0;
  describe('OrderStore', () => sagaStoreConformance(() => new OrderStore(redis, `${prefix}${++stores}:`, RETENTION_MS, metrics)));
});
